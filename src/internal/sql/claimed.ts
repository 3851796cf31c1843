/**
 * Ending a claim: finish, end an attempt that did not succeed (failed, retried or cancelled), fail all of a lost
 * process's claims, or release. Every path first takes the claim rows that still belong to the calling process
 * (fencing): a process that was pruned while it slept finds nothing to take, and changes nothing.
 * Finishing and ending attempts give the slots of the jobs taken back to their semaphores in the same transaction, so an
 * outcome, its slot and the release of the next blocked job of its key commit or roll back together. Releasing
 * keeps the slot: the job goes back to ready holding it, bypassing its limit.
 */
import type { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import type { Dialect, DialectName } from "./dialect.js"
import { makeExecutions } from "./executions.js"
import type { AttemptEnding, AttemptEnd, Ending, Finishing, Started } from "../storage/Claimed.js"
import type { StatementError } from "../storage/persistence.js"
import { notify, settledChannel } from "./notify.js"
import { DbInt, DbNullableInt } from "./rows.js"
import type { makeSemaphores } from "./semaphores.js"

/** A claim as its ending reads it: the row, when it was claimed and started, and whether a cancel was asked for. */
const ClaimRows = Schema.Array(Schema.Struct({
  id: DbInt,
  job_id: DbInt,
  created_at: DbInt,
  started_at: DbNullableInt,
  cancel_requested_at: DbNullableInt
}))
const decodeClaims = Schema.decodeUnknown(ClaimRows)
type Claim = typeof ClaimRows.Type[number]

type Ids = ReadonlyArray<number>

/** When an attempt started: as its worker saw it, else as its claim records it (a claim made before starts were). */
const startOf = (ending: Ending | undefined, claim: Claim) => ending?.startedAt ?? claim.started_at ?? claim.created_at

/**
 * Finishing jobs that are kept, in one statement where the dialect can say it so (PostgreSQL: the starts of jobs
 * claimed ahead are recorded and the claims taken feed the jobs' update), returning the ids finished; elsewhere
 * the starts are recorded and the claims taken first, then the jobs marked.
 */
type FinishKept = (
  sql: SqlClient.SqlClient,
  started: ReadonlyArray<Started>,
  jobs: ReadonlyArray<Finishing>,
  processId: number,
  now: number
) => Effect.Effect<Ids, StatementError>

/** The ids a finish statement hands back as one comma-separated text, also sent to awaiting handles. */
const AggregatedIds = Schema.Array(Schema.Struct({ ids: Schema.NullOr(Schema.String) }))
const decodeAggregatedIds = (rows: unknown) =>
  Effect.map(Schema.decodeUnknown(AggregatedIds)(rows), (r) => (r[0]?.ids ? r[0].ids.split(",").map(Number) : []))

/** PostgreSQL: the starts of jobs claimed ahead, the rows as one array per column. */
const markStartedPg = (sql: SqlClient.SqlClient, started: ReadonlyArray<Started>, processId: number) =>
  sql`UPDATE steady_queue_claimed_executions c SET started_at = m.at
      FROM unnest(${started.map((s) => s.id)}::int8[], ${started.map((s) => s.startedAt)}::int8[]) AS m(job_id, at)
      WHERE c.job_id = m.job_id AND c.process_id = ${processId}`

const finishKeptInOneStatement: Record<DialectName, FinishKept | undefined> = {
  // The finished ids are also a notification (delivered on commit) to handles awaiting them in other processes;
  // a list too long for one notification says "any". Rows travel as one array per column. Not prepared: its
  // generic plan (the one a prepared statement settles on) drained jobs a third slower than a plan per batch.
  pg: (sql, started, jobs, processId, now) => {
    const marked = started.length === 0 ? sql`` : sql`marked AS (${markStartedPg(sql, started, processId)}), `
    const ids = jobs.map((j) => j.id)
    return sql`WITH ${marked}taken AS (
          DELETE FROM steady_queue_claimed_executions
          WHERE job_id = ANY(${ids}::int8[]) AND process_id = ${processId}
          RETURNING job_id, created_at, started_at
        ), done AS (
          UPDATE steady_queue_jobs j SET finished_at = ${now}, updated_at = ${now},
                 started_at = COALESCE(f.at, taken.started_at, taken.created_at)
          FROM taken JOIN unnest(${ids}::int8[], ${jobs.map((j) => j.startedAt)}::int8[]) AS f(job_id, at)
               ON f.job_id = taken.job_id
          WHERE j.id = taken.job_id RETURNING j.id
        ), ids AS (SELECT string_agg(id::text, ',') AS ids FROM done)
        SELECT ids, pg_notify(${settledChannel}, CASE WHEN length(ids) > 7900 THEN '*' ELSE COALESCE(ids, '') END) AS n
        FROM ids`.pipe(Effect.flatMap(decodeAggregatedIds))
  },
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
                 RETURNING id, job_id, created_at, started_at, cancel_requested_at`.pipe(Effect.flatMap(decodeClaims))
    }
    return sql`SELECT id, job_id, created_at, started_at, cancel_requested_at
        FROM steady_queue_claimed_executions WHERE ${owned(jobIds, processId)} ORDER BY id ${dialect.forUpdate}`.pipe(
      Effect.flatMap(decodeClaims),
      Effect.tap((claims) =>
        claims.length === 0 ? Effect.void : dialect.deleteByIds("steady_queue_claimed_executions", claims.map((c) => c.id))
      )
    )
  }

  /** Records when jobs claimed ahead started: one statement for them all. */
  const markStarted = (started: ReadonlyArray<Started>, processId: number) => {
    if (started.length === 0) return Effect.void
    if (dialect.name === "pg") return Effect.asVoid(markStartedPg(sql, started, processId))
    const cases = sql.join(" ", false)(started.map((s) => sql`WHEN ${s.id} THEN ${s.startedAt}`))
    return sql`UPDATE steady_queue_claimed_executions SET started_at = CASE job_id ${cases} END
               WHERE ${owned(started.map((s) => s.id), processId)}`.unprepared
  }

  /** Marks jobs finished, each with the time its last attempt started. */
  const markFinished = (jobs: ReadonlyArray<Finishing>, claims: ReadonlyArray<Claim>, now: number, preserve: boolean) => {
    if (claims.length === 0) return Effect.void
    const ids = claims.map((c) => c.job_id)
    if (!preserve) return sql`DELETE FROM steady_queue_jobs WHERE ${sql.in("id", ids)}`.unprepared
    // One statement: each job's start time by a CASE (jobs started together share it, so it stays short).
    const byId = new Map(jobs.map((j) => [j.id, j]))
    const byStart = new Map<number, Array<number>>()
    for (const c of claims) {
      const start = startOf(byId.get(c.job_id), c)
      const group = byStart.get(start)
      if (group === undefined) byStart.set(start, [c.job_id])
      else group.push(c.job_id)
    }
    const starts = sql.join(" ", false)([...byStart].map(([start, group]) => sql`WHEN ${sql.in("id", group)} THEN ${start}`))
    return sql`UPDATE steady_queue_jobs SET finished_at = ${now}, updated_at = ${now}, started_at = CASE ${starts} END
               WHERE ${sql.in("id", ids)}`.unprepared
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

  /**
   * Records the starts of jobs claimed ahead and finishes the jobs this process still owns, with their results;
   * returns the ids it finished.
   */
  const finish = (
    started: ReadonlyArray<Started>,
    jobs: ReadonlyArray<Finishing>,
    processId: number,
    now: number,
    preserve: boolean
  ): Effect.Effect<Ids, StatementError> => {
    if (jobs.length === 0) return Effect.as(markStarted(started, processId), [])
    const jobIds = jobs.map((j) => j.id)
    const signal = (taken: Ids) => semaphores.signal(slotsOf(jobs, taken), now)
    if (preserve && finishKept !== undefined) {
      // One round trip on the hot path; a transaction only when slots are given back or results stored.
      const finished = finishKept(sql, started, jobs, processId, now)
      const more = jobs.some((j) => j.concurrency !== null || j.result !== null)
      return more
        ? sql.withTransaction(Effect.tap(finished, (taken) => Effect.zipRight(storeResults(jobs, taken), signal(taken))))
        : finished
    }
    return sql.withTransaction(Effect.gen(function*() {
      yield* markStarted(started, processId)
      const claims = yield* takeClaims(jobIds, processId)
      const taken = claims.map((c) => c.job_id)
      yield* markFinished(jobs, claims, now, preserve)
      if (preserve) yield* storeResults(jobs, taken)
      yield* signal(taken)
      yield* notify(sql, dialect, settledChannel, taken)
      return taken
    }))
  }

  /** Every failed attempt is kept with its job: its number, error, process and times. */
  const recordAttempt = (ending: AttemptEnding, startedAt: number, processId: number, now: number) =>
    sql`INSERT INTO steady_queue_attempts ${
      sql.insert({
        job_id: ending.id,
        attempt: ending.attempt,
        process_id: processId,
        started_at: startedAt,
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
      const startedAt = startOf(ending, claim)
      yield* recordAttempt(ending, startedAt, processId, now)
      const slots = slotsOf([ending], [ending.id])
      const cancelled = ending.cancelled || claim.cancel_requested_at !== null
      let end: AttemptEnd
      if (cancelled) {
        yield* sql`UPDATE steady_queue_jobs SET started_at = ${startedAt} WHERE id = ${ending.id}`
        yield* executions.cancelled([ending.id], now)
        end = "cancelled"
      } else if (ending.retryAt !== null) {
        yield* sql`UPDATE steady_queue_jobs SET attempts = attempts + 1, scheduled_at = ${ending.retryAt},
                   started_at = ${startedAt}, updated_at = ${now} WHERE id = ${ending.id}`
        end = "retrying"
      } else {
        yield* sql`UPDATE steady_queue_jobs SET started_at = ${startedAt}, updated_at = ${now} WHERE id = ${ending.id}`
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

  /** Puts the claims `taking` deletes back in ready, holding their slots; returns their job ids. */
  const putBack = (taking: Effect.Effect<Ids, StatementError>, now: number) =>
    sql.withTransaction(Effect.gen(function*() {
      const taken = yield* taking
      if (taken.length === 0) return taken
      yield* semaphores.dispatchBypassingLimits(sql`steady_queue_jobs WHERE ${sql.in("id", taken)}`, now)
      return taken
    }))

  /** Puts claimed jobs back in ready (all of the process's claims when `jobIds` is undefined). */
  const release = (jobIds: Ids | undefined, processId: number, now: number) => putBack(take(jobIds, processId), now)

  /** Puts the claims of a process that is gone which never started back in ready (claimed ahead, never run). */
  const releaseUnstarted = (processId: number, now: number) =>
    putBack(dialect.takeJobs("steady_queue_claimed_executions", sql`process_id = ${processId} AND started_at IS NULL`), now)

  /** Fails every claim of a process that is gone (pruned, or exited without being told to), giving their slots back. */
  const failAll = (processId: number, error: string, now: number) =>
    sql.withTransaction(Effect.gen(function*() {
      const taken = yield* take(undefined, processId)
      if (taken.length === 0) return taken
      yield* executions.failed(taken, error, processId, now)
      yield* semaphores.signal(yield* semaphores.limitsOf(taken), now)
      return taken
    }))

  return { take, finish, endAttempt, release, releaseUnstarted, failAll } as const
}
