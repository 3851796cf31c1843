/**
 * Dispatching: due scheduled executions become ready, a batch at a time, skipping rows another dispatcher holds.
 */
import type { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import { retryLockConflicts } from "./conflicts.js"
import type { Dialect } from "./dialect.js"
import type { StatementError } from "../storage/persistence.js"
import type { DueExecution } from "../storage/Scheduled.js"
import { DbInt } from "./rows.js"

const DueRow = Schema.Struct({ id: DbInt, job_id: DbInt, queue_name: Schema.String, priority: DbInt })
const decodeDue = Schema.decodeUnknown(Schema.Array(DueRow))

export const makeScheduled = (
  sql: SqlClient.SqlClient,
  dialect: Dialect,
  dispatchJobs: (jobIds: ReadonlyArray<number>, now: number) => Effect.Effect<void, StatementError>
) => {
  const order = sql.literal("ORDER BY scheduled_at ASC, priority DESC, job_id ASC")
  // A dispatch that loses a deadlock changed nothing: it runs again instead of failing the poll.
  const retrying = retryLockConflicts("a dispatch")

  /** Takes up to `batchSize` due rows (at least one), passing over those another dispatcher holds. */
  const lockDue = (batchSize: number, now: number): Effect.Effect<ReadonlyArray<DueExecution>, StatementError> =>
    dialect.takeSkipLocked({
      table: "steady_queue_scheduled_executions",
      columns: "job_id, queue_name, priority",
      where: sql`WHERE scheduled_at <= ${now}`,
      order,
      limit: Math.max(1, batchSize)
    }).pipe(Effect.flatMap(decodeDue))

  return {
    /** Moves up to `batchSize` due jobs to ready; returns them (so the caller knows whether to go again). */
    due: (batchSize: number, now: number) =>
      retrying(sql.withTransaction(Effect.gen(function*() {
        const due = yield* lockDue(batchSize, now)
        // Limited jobs wait on their semaphore when they become due.
        yield* dispatchJobs(due.map((d) => d.job_id), now)
        return due
      }))),
    /** Makes scheduled jobs due now and moves them to ready (or blocked); returns the job ids moved. */
    now: (jobIds: ReadonlyArray<number>, now: number) =>
      jobIds.length === 0 ? Effect.succeed([]) : retrying(sql.withTransaction(Effect.gen(function*() {
        const taken = yield* dialect.takeJobs("steady_queue_scheduled_executions", sql.in("job_id", jobIds))
        if (taken.length === 0) return taken
        yield* sql`UPDATE steady_queue_jobs SET scheduled_at = ${now}, updated_at = ${now}
                   WHERE ${sql.in("id", taken)}`.unprepared
        yield* dispatchJobs(taken, now)
        return taken
      })))
  } as const
}
