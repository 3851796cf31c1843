/**
 * Ending a claim: finish, fail or release. Every path first takes the claim rows that still belong to the
 * calling process (fencing): a process that was pruned while it slept finds nothing to take, and changes nothing.
 * Finishing and failing give the slots of the jobs taken back to their semaphores in the same transaction, so an
 * outcome, its slot and the release of the next blocked job of its key commit or roll back together. Releasing
 * keeps the slot: the job goes back to ready holding it, bypassing its limit.
 */
import type { SqlClient, Statement } from "@effect/sql"
import { Effect } from "effect"
import type { Dialect, DialectName } from "./dialect.js"
import { makeExecutions } from "./executions.js"
import type { Ending } from "../storage/Claimed.js"
import type { StatementError } from "../storage/persistence.js"
import { decodeIds } from "./rows.js"
import type { makeSemaphores, Slot } from "./semaphores.js"

type Ids = ReadonlyArray<number>

/**
 * Finishing jobs that are kept, in one statement where the dialect can say it so (PostgreSQL: the claims taken
 * feed the jobs' update), returning the ids finished; elsewhere the claims are taken first, then the jobs marked.
 */
type FinishKept = (sql: SqlClient.SqlClient, owned: Statement.Fragment, now: number) => Effect.Effect<Ids, StatementError>

const finishKeptInOneStatement: Record<DialectName, FinishKept | undefined> = {
  pg: (sql, owned, now) =>
    sql`WITH taken AS (
          DELETE FROM steady_queue_claimed_executions WHERE ${owned} RETURNING job_id
        )
        UPDATE steady_queue_jobs j SET finished_at = ${now}, updated_at = ${now}
        FROM taken WHERE j.id = taken.job_id RETURNING j.id`.pipe(Effect.flatMap(decodeIds)),
  mysql: undefined,
  mariadb: undefined,
  sqlite: undefined
}

/** The slots of the jobs that were taken: only the owner of a claim gives its slot back. */
const slotsOf = (jobs: ReadonlyArray<Ending>, taken: Ids) => {
  const ids = new Set(taken)
  return jobs.flatMap((j) => (j.concurrency !== null && ids.has(j.id) ? [j.concurrency] : []))
}

export const makeClaimed = (
  sql: SqlClient.SqlClient,
  dialect: Dialect,
  semaphores: Pick<ReturnType<typeof makeSemaphores>, "signal" | "limitsOf" | "dispatchBypassingLimits">
) => {
  const executions = makeExecutions(sql, dialect)
  const finishKept = finishKeptInOneStatement[dialect.name]
  const owned = (jobIds: Ids | undefined, processId: number) =>
    jobIds === undefined
      ? sql`process_id = ${processId}`
      : sql`${dialect.idIn("job_id", jobIds)} AND process_id = ${processId}`

  /** Deletes this process's claims on the given jobs (all of them when `undefined`); returns the job ids taken. */
  const take = (jobIds: Ids | undefined, processId: number): Effect.Effect<Ids, StatementError> =>
    jobIds !== undefined && jobIds.length === 0
      ? Effect.succeed([])
      : dialect.takeJobs("steady_queue_claimed_executions", owned(jobIds, processId))

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
    if (preserve && finishKept !== undefined) {
      // One round trip on the hot path; a transaction only when slots are given back.
      const finished = finishKept(sql, owned(jobIds, processId), now)
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
