/**
 * Ending a claim: finish, end an attempt that did not succeed (failed, retried or cancelled), fail all of a lost
 * process's claims, or release. Every path first takes the claim rows that still belong to the calling process
 * (fencing): a process that was pruned while it slept finds nothing to take, and changes nothing.
 * Finishing and ending attempts give the slots of the jobs taken back to their semaphores in the same transaction, so an
 * outcome, its slot and the release of the next blocked job of its key commit or roll back together. Releasing
 * keeps the slot: the job goes back to ready holding it, bypassing its limit.
 */
import type { SqlClient, Statement } from "@effect/sql"
import { Effect, Schema } from "effect"
import type { Dialect, DialectName } from "./dialect.js"
import { makeExecutions } from "./executions.js"
import type { AttemptEnding, AttemptEnd, Ending, Finishing } from "../storage/Claimed.js"
import type { StatementError } from "../storage/persistence.js"
import { notify, settledChannel } from "./notify.js"
import { DbInt, DbNullableInt } from "./rows.js"
import type { makeSemaphores } from "./semaphores.js"

/** A claim as its ending reads it: the row, when it was claimed, and whether a cancel was asked for. */
const ClaimRows = Schema.Array(Schema.Struct({
  id: DbInt,
  job_id: DbInt,
  created_at: DbInt,
  cancel_requested_at: DbNullableInt
}))
const decodeClaims = Schema.decodeUnknown(ClaimRows)
type Claim = typeof ClaimRows.Type[number]

type Ids = ReadonlyArray<number>

/**
 * Finishing jobs that are kept, in one statement where the dialect can say it so (PostgreSQL: the claims taken
 * feed the jobs' update), returning the ids finished; elsewhere the claims are taken first, then the jobs marked.
 */
type FinishKept = (sql: SqlClient.SqlClient, owned: Statement.Fragment, now: number) => Effect.Effect<Ids, StatementError>

/** The ids a finish statement hands back as one comma-separated text, also sent to awaiting handles. */
const AggregatedIds = Schema.Array(Schema.Struct({ ids: Schema.NullOr(Schema.String) }))
const decodeAggregatedIds = (rows: unknown) =>
  Effect.map(Schema.decodeUnknown(AggregatedIds)(rows), (r) => (r[0]?.ids ? r[0].ids.split(",").map(Number) : []))

const finishKeptInOneStatement: Record<DialectName, FinishKept | undefined> = {
  // The finished ids are also a notification (delivered on commit) to handles awaiting them in other processes;
  // a list too long for one notification says "any".
  pg: (sql, owned, now) =>
    sql`WITH taken AS (
          DELETE FROM steady_queue_claimed_executions WHERE ${owned} RETURNING job_id, created_at
        ), done AS (
          UPDATE steady_queue_jobs j SET finished_at = ${now}, updated_at = ${now}, started_at = taken.created_at
          FROM taken WHERE j.id = taken.job_id RETURNING j.id
        ), ids AS (SELECT string_agg(id::text, ',') AS ids FROM done)
        SELECT ids, pg_notify(${settledChannel}, CASE WHEN length(ids) > 7900 THEN '*' ELSE COALESCE(ids, '') END) AS n
        FROM ids`.pipe(Effect.flatMap(decodeAggregatedIds)),
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
  semaphores: Pick<ReturnType<typeof makeSemaphores>, "signal" | "limitsOf" | "dispatchBypassingLimits" | "dispatchJobs">
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

  /**
   * Deletes this process's claims on the given jobs and returns them as they were: in one statement where the
   * dialect has DELETE ... RETURNING, else (MySQL proper) locked first, then deleted by primary key.
   */
  const takeClaims = (jobIds: Ids, processId: number): Effect.Effect<ReadonlyArray<Claim>, StatementError> => {
    if (jobIds.length === 0) return Effect.succeed([])
    if (dialect.name !== "mysql") {
      return sql`DELETE FROM steady_queue_claimed_executions WHERE ${owned(jobIds, processId)}
                 RETURNING id, job_id, created_at, cancel_requested_at`.pipe(Effect.flatMap(decodeClaims))
    }
    return sql`SELECT id, job_id, created_at, cancel_requested_at
        FROM steady_queue_claimed_executions WHERE ${owned(jobIds, processId)} ORDER BY id ${dialect.forUpdate}`.pipe(
      Effect.flatMap(decodeClaims),
      Effect.tap((claims) =>
        claims.length === 0 ? Effect.void : dialect.deleteByIds("steady_queue_claimed_executions", claims.map((c) => c.id))
      )
    )
  }

  /** Marks jobs finished, each with the time its claim was made (when its last attempt started). */
  const markFinished = (claims: ReadonlyArray<Claim>, now: number, preserve: boolean) => {
    if (claims.length === 0) return Effect.void
    const ids = claims.map((c) => c.job_id)
    if (!preserve) return sql`DELETE FROM steady_queue_jobs WHERE ${sql.in("id", ids)}`.unprepared
    // Jobs claimed together share their claim time: one statement per claim time, usually one in all.
    const byStart = new Map<number, Array<number>>()
    for (const c of claims) {
      const group = byStart.get(c.created_at)
      if (group === undefined) byStart.set(c.created_at, [c.job_id])
      else group.push(c.job_id)
    }
    return Effect.forEach(byStart, ([startedAt, jobIds]) =>
      sql`UPDATE steady_queue_jobs SET finished_at = ${now}, updated_at = ${now}, started_at = ${startedAt}
          WHERE ${sql.in("id", jobIds)}`.unprepared, { discard: true })
  }

  /** Stores the encoded results of finished jobs (those that have one), one statement for them all. */
  const storeResults = (jobs: ReadonlyArray<Finishing>, finished: Ids) => {
    const done = new Set(finished)
    const withResult = jobs.filter((j) => j.result !== null && done.has(j.id))
    if (withResult.length === 0) return Effect.void
    const cases = sql.join(" ", false)(withResult.map((j) => sql`WHEN ${j.id} THEN ${j.result}`))
    return sql`UPDATE steady_queue_jobs SET result = CASE id ${cases} END
               WHERE ${sql.in("id", withResult.map((j) => j.id))}`.unprepared
  }

  /** Finishes the jobs this process still owns, with their results; returns the ids it finished. */
  const finish = (jobs: ReadonlyArray<Finishing>, processId: number, now: number, preserve: boolean): Effect.Effect<Ids, StatementError> => {
    const jobIds = jobs.map((j) => j.id)
    const signal = (taken: Ids) => semaphores.signal(slotsOf(jobs, taken), now)
    if (preserve && finishKept !== undefined) {
      // One round trip on the hot path; a transaction only when slots are given back or results stored.
      const finished = finishKept(sql, owned(jobIds, processId), now)
      const more = jobs.some((j) => j.concurrency !== null || j.result !== null)
      return more
        ? sql.withTransaction(Effect.tap(finished, (taken) => Effect.zipRight(storeResults(jobs, taken), signal(taken))))
        : finished
    }
    return sql.withTransaction(Effect.gen(function*() {
      const claims = yield* takeClaims(jobIds, processId)
      const taken = claims.map((c) => c.job_id)
      yield* markFinished(claims, now, preserve)
      if (preserve) yield* storeResults(jobs, taken)
      yield* signal(taken)
      yield* notify(sql, dialect, settledChannel, taken)
      return taken
    }))
  }

  /** Every failed attempt is kept with its job: its number, error, process and times. */
  const recordAttempt = (ending: AttemptEnding, claim: Claim, processId: number, now: number) =>
    sql`INSERT INTO steady_queue_attempts ${
      sql.insert({
        job_id: ending.id,
        attempt: ending.attempt,
        process_id: processId,
        started_at: claim.created_at,
        finished_at: now,
        error: ending.error,
        created_at: now
      })
    }`

  /**
   * Ends an attempt that did not succeed, if this process still holds the job: cancelled (asked to, or a cancel
   * was asked for meanwhile), retried (back to scheduled at `retryAt`, or dispatched at once when that is now), or
   * failed for good. Its slot is given back either way: a retried job of a limited task waits for one again.
   */
  const endAttempt = (ending: AttemptEnding, processId: number, now: number): Effect.Effect<AttemptEnd, StatementError> =>
    sql.withTransaction(Effect.gen(function*() {
      const [claim] = yield* takeClaims([ending.id], processId)
      if (claim === undefined) return "lost"
      yield* recordAttempt(ending, claim, processId, now)
      const slots = slotsOf([ending], [ending.id])
      const cancelled = ending.cancelled || claim.cancel_requested_at !== null
      let end: AttemptEnd
      if (cancelled) {
        yield* sql`UPDATE steady_queue_jobs SET started_at = ${claim.created_at} WHERE id = ${ending.id}`
        yield* executions.cancelled([ending.id], now)
        end = "cancelled"
      } else if (ending.retryAt !== null) {
        yield* sql`UPDATE steady_queue_jobs SET attempts = attempts + 1, scheduled_at = ${ending.retryAt},
                   started_at = ${claim.created_at}, updated_at = ${now} WHERE id = ${ending.id}`
        end = "retrying"
      } else {
        yield* sql`UPDATE steady_queue_jobs SET started_at = ${claim.created_at}, updated_at = ${now} WHERE id = ${ending.id}`
        yield* executions.failed([ending.id], ending.error, processId, now)
        end = "failed"
      }
      // The slot first: a retry due now then competes for it like any other job of its key.
      yield* semaphores.signal(slots, now)
      if (end === "retrying") {
        yield* ending.retryAt! <= now
          ? semaphores.dispatchJobs([ending.id], now)
          : executions.scheduled([{ jobId: ending.id, queueName: ending.queueName, priority: ending.priority, scheduledAt: ending.retryAt! }], now)
      }
      yield* notify(sql, dialect, settledChannel, [ending.id])
      return end
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
      yield* executions.failed(taken, error, processId, now)
      yield* semaphores.signal(yield* semaphores.limitsOf(taken), now)
      return taken
    }))

  return { take, finish, endAttempt, release, failAll } as const
}
