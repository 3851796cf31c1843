/**
 * Clearing finished jobs in batches, so a large backlog never turns into one long lock.
 */
import type { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { DialectInfo } from "./dialect.js"
import { affectedRows } from "./rows.js"

export const makeClearFinished = (sql: SqlClient.SqlClient, info: DialectInfo) => {
  const limitOf = (n: number) => sql.literal(String(Math.max(1, Math.trunc(n))))
  // MySQL rejects LIMIT inside an IN subquery but has DELETE ... LIMIT; the others are the other way round.
  const deleteBatch = (before: number, batchSize: number) =>
    (info.dialect === "mysql"
      ? sql`DELETE FROM steady_queue_jobs WHERE finished_at IS NOT NULL AND finished_at < ${before}
            ORDER BY finished_at LIMIT ${limitOf(batchSize)}`
      : sql`DELETE FROM steady_queue_jobs WHERE id IN (
              SELECT id FROM steady_queue_jobs WHERE finished_at IS NOT NULL AND finished_at < ${before}
              ORDER BY finished_at LIMIT ${limitOf(batchSize)})`).raw.pipe(Effect.map(affectedRows))

  /** Deletes jobs finished before `before`; returns how many. */
  return (before: number, batchSize: number) =>
    Effect.iterate({ total: 0, last: batchSize }, {
      while: (s) => s.last >= batchSize,
      body: (s) => Effect.map(deleteBatch(before, batchSize), (n) => ({ total: s.total + n, last: n }))
    }).pipe(Effect.map((s) => s.total))
}
