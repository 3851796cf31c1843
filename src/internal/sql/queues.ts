/**
 * Queues: pauses, the names a worker's selector expands to, and sizes for operators.
 */
import type { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import type { DialectInfo } from "./dialect.js"
import { DbInt } from "./rows.js"

const NameRow = Schema.Struct({ queue_name: Schema.String })
const decodeNames = (rows: ReadonlyArray<unknown>) =>
  Schema.decodeUnknownSync(Schema.Array(NameRow))(rows).map((r) => r.queue_name)
const SizeRow = Schema.Struct({ queue_name: Schema.String, size: DbInt })
const decodeSizes = Schema.decodeUnknownSync(Schema.Array(SizeRow))

/** LIKE pattern for a prefix, with LIKE's own wildcards escaped. */
const likePrefix = (prefix: string) => prefix.replace(/[!%_]/g, (c) => `!${c}`) + "%"

export const makeQueues = (sql: SqlClient.SqlClient, info: DialectInfo) => ({
  paused: sql`SELECT queue_name FROM steady_queue_pauses ORDER BY queue_name`.pipe(Effect.map(decodeNames)),
  pause: (queue: string, now: number) =>
    info.dialect === "mysql"
      ? sql`INSERT IGNORE INTO steady_queue_pauses (queue_name, created_at) VALUES (${queue}, ${now})`
      : sql`INSERT INTO steady_queue_pauses (queue_name, created_at) VALUES (${queue}, ${now}) ON CONFLICT DO NOTHING`,
  resume: (queue: string) => sql`DELETE FROM steady_queue_pauses WHERE queue_name = ${queue}`,
  /** Distinct queue names with ready jobs, optionally only those starting with `prefix`. */
  readyQueueNames: (prefix: string | undefined) =>
    (prefix === undefined
      ? sql`SELECT DISTINCT queue_name FROM steady_queue_ready_executions ORDER BY queue_name`
      : sql`SELECT DISTINCT queue_name FROM steady_queue_ready_executions
            WHERE queue_name LIKE ${likePrefix(prefix)} ESCAPE '!' ORDER BY queue_name`).pipe(Effect.map(decodeNames)),
  readySizes: sql`SELECT queue_name, COUNT(*) AS size FROM steady_queue_ready_executions GROUP BY queue_name`.pipe(
    Effect.map(decodeSizes)
  )
})
