/**
 * Clearing finished jobs in batches, so a large backlog never turns into one long lock.
 */
import type { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Dialect } from "./dialect.js"
import { affectedRows } from "./rows.js"

export const makeClearFinished = (sql: SqlClient.SqlClient, dialect: Dialect) => {
  const deleteBatch = (before: number, batchSize: number) =>
    dialect.deleteFirst(
      "steady_queue_jobs",
      sql`finished_at IS NOT NULL AND finished_at < ${before}`,
      "finished_at",
      Math.max(1, Math.trunc(batchSize))
    ).raw.pipe(Effect.map(affectedRows))

  /** Deletes jobs finished before `before`; returns how many. */
  return (before: number, batchSize: number) =>
    Effect.iterate({ total: 0, last: batchSize }, {
      while: (s) => s.last >= batchSize,
      body: (s) => Effect.map(deleteBatch(before, batchSize), (n) => ({ total: s.total + n, last: n }))
    }).pipe(Effect.map((s) => s.total))
}
