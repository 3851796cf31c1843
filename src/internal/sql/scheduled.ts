/**
 * Dispatching: due scheduled executions become ready, a batch at a time, skipping rows another dispatcher holds.
 */
import type { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import { retryLockConflicts } from "./conflicts.js"
import { deleteByPrimaryKey } from "./deleteByKey.js"
import type { DialectInfo } from "./dialect.js"
import type { StatementError } from "../storage/persistence.js"
import type { DueExecution } from "../storage/Scheduled.js"
import { DbInt } from "./rows.js"
import { makeTakeExecutions } from "./take.js"

const DueRow = Schema.Struct({ id: DbInt, job_id: DbInt, queue_name: Schema.String, priority: DbInt })
const decodeDue = Schema.decodeUnknown(Schema.Array(DueRow))

export const makeScheduled = (
  sql: SqlClient.SqlClient,
  info: DialectInfo,
  dispatchJobs: (jobIds: ReadonlyArray<number>, now: number) => Effect.Effect<void, StatementError>
) => {
  const limitOf = (n: number) => sql.literal(String(Math.max(1, Math.trunc(n))))
  const take = makeTakeExecutions(sql, info)
  const order = sql.literal("ORDER BY scheduled_at ASC, priority DESC, job_id ASC")
  // A dispatch that loses a deadlock changed nothing: it runs again instead of failing the poll.
  const retrying = retryLockConflicts("a dispatch")

  const lockDue = (batchSize: number, now: number): Effect.Effect<ReadonlyArray<DueExecution>, StatementError> =>
    info.dialect === "sqlite"
      ? // The write comes first so the transaction holds SQLite's write lock from its first statement.
        sql`DELETE FROM steady_queue_scheduled_executions WHERE id IN (
              SELECT id FROM steady_queue_scheduled_executions WHERE scheduled_at <= ${now} ${order} LIMIT ${limitOf(batchSize)}
            ) RETURNING id, job_id, queue_name, priority`.pipe(Effect.flatMap(decodeDue))
      : sql`SELECT id, job_id, queue_name, priority FROM steady_queue_scheduled_executions
            WHERE scheduled_at <= ${now} ${order} LIMIT ${limitOf(batchSize)} FOR UPDATE SKIP LOCKED`.pipe(
          Effect.flatMap(decodeDue),
          Effect.tap((due) =>
            due.length === 0 ? Effect.void : deleteByPrimaryKey(
              sql,
              info,
              "steady_queue_scheduled_executions",
              due.map((r) => r.id)
            )
          )
        )

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
        const taken = yield* take("steady_queue_scheduled_executions", jobIds)
        if (taken.length === 0) return taken
        yield* sql`UPDATE steady_queue_jobs SET scheduled_at = ${now}, updated_at = ${now}
                   WHERE ${sql.in("id", taken)}`.unprepared
        yield* dispatchJobs(taken, now)
        return taken
      })))
  } as const
}
