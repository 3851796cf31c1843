/**
 * Queues: pauses, the names a worker's selector expands to, and sizes for operators.
 */
import type { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import type { QueueRow } from "../storage/Queues.js"
import type { Dialect } from "./dialect.js"
import { DbInt, DbNullableInt } from "./rows.js"

const NameRow = Schema.Struct({ queue_name: Schema.String })
const decodeNameRows = Schema.decodeUnknown(Schema.Array(NameRow))
const decodeNames = (rows: unknown) => Effect.map(decodeNameRows(rows), (rs) => rs.map((r) => r.queue_name))
const SizeRow = Schema.Struct({ queue_name: Schema.String, size: DbInt, oldest: DbNullableInt })
const decodeSizes = Schema.decodeUnknown(Schema.Array(SizeRow))

/** LIKE pattern for a prefix, with LIKE's own wildcards escaped. */
const likePrefix = (prefix: string) => prefix.replace(/[!%_]/g, (c) => `!${c}`) + "%"

export const makeQueues = (sql: SqlClient.SqlClient, dialect: Dialect) => {
  const paused = sql`SELECT queue_name FROM steady_queue_pauses ORDER BY queue_name`.pipe(Effect.flatMap(decodeNames))
  return {
    paused,
    pause: (queue: string, now: number) =>
      dialect.insertIgnore("steady_queue_pauses", { queue_name: queue, created_at: now }, "queue_name"),
    resume: (queue: string) => sql`DELETE FROM steady_queue_pauses WHERE queue_name = ${queue}`,
    /** Distinct queue names with ready jobs, optionally only those starting with `prefix`. */
    readyQueueNames: (prefix: string | undefined) =>
      (prefix === undefined
        ? sql`SELECT DISTINCT queue_name FROM steady_queue_ready_executions ORDER BY queue_name`
        : sql`SELECT DISTINCT queue_name FROM steady_queue_ready_executions
              WHERE queue_name LIKE ${likePrefix(prefix)} ESCAPE '!' ORDER BY queue_name`).pipe(Effect.flatMap(decodeNames)),
    /** Queues with ready jobs, and paused queues, by name. */
    list: Effect.gen(function*() {
      const sizes = yield* decodeSizes(yield* sql`SELECT queue_name, COUNT(*) AS size, MIN(created_at) AS oldest
        FROM steady_queue_ready_executions GROUP BY queue_name`)
      const pausedNames = new Set(yield* paused)
      const byName = new Map<string, QueueRow>(sizes.map((r) => [r.queue_name, {
        name: r.queue_name,
        size: r.size,
        oldest: r.oldest,
        paused: pausedNames.has(r.queue_name)
      }]))
      for (const name of pausedNames) {
        if (!byName.has(name)) byName.set(name, { name, size: 0, oldest: null, paused: true })
      }
      return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name))
    })
  }
}
