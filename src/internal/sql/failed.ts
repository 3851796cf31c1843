/**
 * Operator actions on failed jobs: retry (back through dispatch) and discard (delete the job).
 */
import type { DiscardableState } from "../../Domain.js"
import type { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Dialect } from "./dialect.js"
import { affectedRows, decodeJobIds } from "./rows.js"
import type { makeSemaphores } from "./semaphores.js"

type Ids = ReadonlyArray<number>

/** States a job can be discarded in (a claimed one belongs to its worker). */

const stateTables: Record<Exclude<DiscardableState, "ready">, string> = {
  failed: "steady_queue_failed_executions",
  scheduled: "steady_queue_scheduled_executions",
  blocked: "steady_queue_blocked_executions"
}

export const makeFailed = (
  sql: SqlClient.SqlClient,
  dialect: Dialect,
  semaphores: Pick<ReturnType<typeof makeSemaphores>, "dispatchJobs" | "limitsOf" | "signal" | "lockFor">
) => {
  /** Takes the jobs' rows of an execution table; of two operators acting on the same job only one moves it. */
  const take = (table: "steady_queue_failed_executions" | "steady_queue_ready_executions", jobIds: Ids) =>
    jobIds.length === 0 ? Effect.succeed([]) : dialect.takeJobs(table, sql.in("job_id", jobIds))

  /** Moves failed jobs back to ready; returns the ids retried. */
  const retry = (jobIds: Ids, now: number) =>
    sql.withTransaction(Effect.gen(function*() {
      const taken = yield* take("steady_queue_failed_executions", jobIds)
      if (taken.length === 0) return taken
      yield* sql`UPDATE steady_queue_jobs SET attempts = attempts + 1, updated_at = ${now}
                 WHERE ${sql.in("id", taken)}`.unprepared
      // Prepared for execution again: a failed job is due, so it is dispatched, through its semaphore like a new one.
      yield* semaphores.dispatchJobs(taken, now)
      return taken
    }))

  /**
   * Deletes jobs, unless a worker holds them (or, with `state`, unless they left that state); returns how many
   * were deleted. A ready job of a limited task holds a slot of its semaphore: its ready row is taken first (so
   * no worker can claim it meanwhile) and the slot given back.
   */
  const discard = (jobIds: Ids, now: number, state?: DiscardableState) =>
    jobIds.length === 0 ? Effect.succeed(0) : sql.withTransaction(Effect.gen(function*() {
      const wasReady = state === undefined || state === "ready"
        ? yield* take("steady_queue_ready_executions", jobIds)
        : []
      const slots = yield* semaphores.limitsOf(wasReady)
      const ids = state === "ready" ? wasReady : jobIds
      if (ids.length === 0) return 0
      // Semaphores before the blocked rows the delete takes with the jobs: the order every signal locks them in.
      yield* semaphores.lockFor(slots)
      const inState = state === undefined || state === "ready"
        ? sql.literal("")
        : sql`AND EXISTS (SELECT 1 FROM ${sql.literal(stateTables[state])} e WHERE e.job_id = steady_queue_jobs.id)`
      const deleted = yield* sql`DELETE FROM steady_queue_jobs WHERE ${sql.in("id", ids)} ${inState}
            AND NOT EXISTS (SELECT 1 FROM steady_queue_claimed_executions c WHERE c.job_id = steady_queue_jobs.id)`
        .raw.pipe(Effect.map(affectedRows))
      // PostgreSQL's ready rows do not reference their job: one a concurrent retry made for a job deleted here
      // (its check of the state read before the retry committed) goes with it.
      if (dialect.name === "pg") {
        yield* sql`DELETE FROM steady_queue_ready_executions WHERE ${sql.in("job_id", ids)}
          AND NOT EXISTS (SELECT 1 FROM steady_queue_jobs j WHERE j.id = steady_queue_ready_executions.job_id)`
      }
      yield* semaphores.signal(slots, now)
      return deleted
    }))

  const nextFailedBatch = (size: number) =>
    sql`SELECT job_id FROM steady_queue_failed_executions ORDER BY job_id ASC
        ${dialect.limit(Math.max(1, size))}`.pipe(
      Effect.flatMap(decodeJobIds)
    )

  return { retry, discard, nextFailedBatch } as const
}
