/**
 * Operator actions on failed jobs: retry (back through dispatch) and discard (delete the job).
 */
import type { SqlClient, SqlError } from "@effect/sql"
import { Effect } from "effect"
import type { DialectInfo } from "./dialect.js"
import { affectedRows, decodeJobIdRows } from "./rows.js"
import { makeTakeExecutions } from "./take.js"

type Ids = ReadonlyArray<number>

export const makeFailed = (
  sql: SqlClient.SqlClient,
  info: DialectInfo,
  readyAgain: (jobIds: ReadonlyArray<number>, now: number) => Effect.Effect<void, SqlError.SqlError>
) => {
  const take = makeTakeExecutions(sql, info)

  /** Moves failed jobs back to ready; returns the ids retried. */
  const retry = (jobIds: Ids, now: number) =>
    sql.withTransaction(Effect.gen(function*() {
      const taken = yield* take("steady_queue_failed_executions", jobIds)
      if (taken.length === 0) return taken
      yield* sql`UPDATE steady_queue_jobs SET attempts = attempts + 1, updated_at = ${now}
                 WHERE ${sql.in("id", taken)}`.unprepared
      // Retried jobs wait on their semaphore again, like new ones.
      yield* readyAgain(taken, now)
      return taken
    }))

  /** Deletes jobs, unless a worker holds them; returns how many were deleted. */
  const discard = (jobIds: Ids) =>
    jobIds.length === 0
      ? Effect.succeed(0)
      : sql`DELETE FROM steady_queue_jobs WHERE ${sql.in("id", jobIds)}
            AND NOT EXISTS (SELECT 1 FROM steady_queue_claimed_executions c WHERE c.job_id = steady_queue_jobs.id)`
        .raw.pipe(Effect.map(affectedRows))

  const nextFailedBatch = (size: number) =>
    sql`SELECT job_id FROM steady_queue_failed_executions ORDER BY job_id ASC
        LIMIT ${sql.literal(String(Math.max(1, Math.trunc(size))))}`.pipe(
      Effect.map((rows) => decodeJobIdRows(rows).map((r) => r.job_id))
    )

  return { retry, discard, nextFailedBatch } as const
}
