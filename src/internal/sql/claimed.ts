/**
 * Ending a claim: finish, fail or release. Every path first takes the claim rows that still belong to the
 * calling process (fencing): a process that was pruned while it slept finds nothing to take, and changes nothing.
 * Finishing and failing give the slots of the jobs taken back to their semaphores in the same transaction, so an
 * outcome, its slot and the release of the next blocked job of its key commit or roll back together. Releasing
 * keeps the slot: the job goes back to ready holding it, bypassing its limit.
 */
import type { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { DialectInfo } from "./dialect.js"
import { makeExecutions } from "./executions.js"
import type { Ending } from "../storage/Claimed.js"
import type { StatementError } from "../storage/persistence.js"
import { decodeIds, decodeJobIds } from "./rows.js"
import type { makeSemaphores, Slot } from "./semaphores.js"

type Ids = ReadonlyArray<number>

/** The slots of the jobs that were taken: only the owner of a claim gives its slot back. */
const slotsOf = (jobs: ReadonlyArray<Ending>, taken: Ids) => {
  const ids = new Set(taken)
  return jobs.flatMap((j) => (j.concurrency !== null && ids.has(j.id) ? [j.concurrency] : []))
}

export const makeClaimed = (
  sql: SqlClient.SqlClient,
  info: DialectInfo,
  semaphores: Pick<ReturnType<typeof makeSemaphores>, "signal" | "limitsOf" | "dispatchBypassingLimits">
) => {
  const executions = makeExecutions(sql, info)
  const owned = (jobIds: Ids | undefined, processId: number) =>
    jobIds === undefined
      ? sql`process_id = ${processId}`
      : info.dialect === "pg"
      ? // One array parameter keeps the statement text the same whatever the batch size.
        sql`job_id = ANY(${jobIds}::int8[]) AND process_id = ${processId}`
      : sql`${sql.in("job_id", jobIds)} AND process_id = ${processId}`

  /** Deletes this process's claims on the given jobs (all of them when `undefined`); returns the job ids taken. */
  const take = (jobIds: Ids | undefined, processId: number): Effect.Effect<Ids, StatementError> => {
    if (jobIds !== undefined && jobIds.length === 0) return Effect.succeed([])
    if (info.dialect === "mysql" && !info.insertReturning) {
      // MySQL proper has no DELETE ... RETURNING: lock the rows, then delete them by primary key.
      return Effect.gen(function*() {
        const rows = yield* sql`SELECT id, job_id FROM steady_queue_claimed_executions
                                WHERE ${owned(jobIds, processId)} ORDER BY id FOR UPDATE`
        if (rows.length === 0) return []
        yield* sql`DELETE FROM steady_queue_claimed_executions WHERE ${sql.in("id", yield* decodeIds(rows))}`
          .unprepared
        return yield* decodeJobIds(rows)
      })
    }
    return sql`DELETE FROM steady_queue_claimed_executions WHERE ${owned(jobIds, processId)} RETURNING job_id`.pipe(
      Effect.flatMap(decodeJobIds)
    )
  }

  const markFinished = (jobIds: Ids, now: number, preserve: boolean) =>
    jobIds.length === 0
      ? Effect.void
      : preserve
      ? sql`UPDATE steady_queue_jobs SET finished_at = ${now}, updated_at = ${now} WHERE ${sql.in("id", jobIds)}`
        .unprepared
      : sql`DELETE FROM steady_queue_jobs WHERE ${sql.in("id", jobIds)}`.unprepared

  /** Finishes the jobs this process still owns; returns the ids it finished. */
  const finish = (jobs: ReadonlyArray<Ending>, processId: number, now: number, preserve: boolean): Effect.Effect<Ids, StatementError> => {
    const jobIds = jobs.map((j) => j.id)
    const signal = (taken: Ids) => semaphores.signal(slotsOf(jobs, taken), now)
    if (info.dialect === "pg" && preserve) {
      // One round trip on the hot path; a transaction only when slots are given back.
      const finished = sql`WITH taken AS (
            DELETE FROM steady_queue_claimed_executions WHERE ${owned(jobIds, processId)} RETURNING job_id
          )
          UPDATE steady_queue_jobs j SET finished_at = ${now}, updated_at = ${now}
          FROM taken WHERE j.id = taken.job_id RETURNING j.id`.pipe(Effect.flatMap(decodeIds))
      return jobs.some((j) => j.concurrency !== null) ? sql.withTransaction(Effect.tap(finished, signal)) : finished
    }
    return sql.withTransaction(
      Effect.tap(take(jobIds, processId), (taken) => Effect.zipRight(markFinished(taken, now, preserve), signal(taken)))
    )
  }

  /**
   * Fails jobs whose claims were just taken, in the caller's transaction: records the error, then gives their
   * slots (`slots`, read after the record) back to their semaphores.
   */
  const failedWith = (
    taken: Ids,
    slots: Effect.Effect<ReadonlyArray<Slot>, StatementError>,
    error: string,
    processId: number,
    now: number
  ) =>
    Effect.zipRight(
      executions.failed(taken, error, processId, now),
      Effect.flatMap(slots, (s) => semaphores.signal(s, now))
    )

  /** Records the failure if this process still owns the claim; returns whether it did. */
  const fail = (job: Ending, processId: number, error: string, now: number) =>
    sql.withTransaction(Effect.gen(function*() {
      const taken = yield* take([job.id], processId)
      if (taken.length === 0) return false
      yield* failedWith(taken, Effect.succeed(slotsOf([job], taken)), error, processId, now)
      return true
    }))

  /** Puts claimed jobs back in ready (all of the process's claims when `jobIds` is undefined). */
  const release = (jobIds: Ids | undefined, processId: number, now: number) =>
    sql.withTransaction(Effect.gen(function*() {
      const taken = yield* take(jobIds, processId)
      if (taken.length === 0) return taken
      yield* semaphores.dispatchBypassingLimits(sql`steady_queue_jobs WHERE ${sql.in("id", taken)}`, now)
      return taken
    }))

  /** Fails every claim of a process that is gone (pruned, or exited without being told to), giving their slots back. */
  const failAll = (processId: number, error: string, now: number) =>
    sql.withTransaction(Effect.gen(function*() {
      const taken = yield* take(undefined, processId)
      if (taken.length === 0) return taken
      yield* failedWith(taken, semaphores.limitsOf(taken), error, processId, now)
      return taken
    }))

  return { take, finish, fail, release, failAll } as const
}
