/**
 * Concurrency semaphores: one row per concurrency key whose `value` is the number of free slots. Waiting takes
 * slots (or leaves jobs blocked), signalling gives them back (never above the limit), and releasing moves blocked
 * jobs to ready as slots allow, highest priority first.
 */
import type { SqlClient, SqlError } from "@effect/sql"
import { Effect, Schema } from "effect"
import type { DialectInfo } from "./dialect.js"
import { DbInt } from "./rows.js"

export interface Limited {
  readonly jobId: number
  readonly queueName: string
  readonly priority: number
  readonly key: string
  readonly limit: number
  readonly durationMs: number
}

const BlockedRow = Schema.Struct({
  id: DbInt,
  job_id: DbInt,
  queue_name: Schema.String,
  priority: DbInt,
  concurrency_key: Schema.String,
  concurrency_limit: DbInt,
  concurrency_duration: DbInt
})
const decodeBlocked = Schema.decodeUnknownSync(Schema.Array(BlockedRow))
const JobLimitRow = Schema.Struct({
  id: DbInt,
  queue_name: Schema.String,
  priority: DbInt,
  concurrency_key: Schema.NullOr(Schema.String),
  concurrency_limit: Schema.NullOr(DbInt),
  concurrency_duration: Schema.NullOr(DbInt)
})
const decodeJobs = Schema.decodeUnknownSync(Schema.Array(JobLimitRow))
const ValueRow = Schema.Struct({ value: DbInt })
const decodeValue = Schema.decodeUnknownSync(Schema.Array(ValueRow))

const byKey = <A extends { readonly key: string }>(items: ReadonlyArray<A>) => {
  const groups = new Map<string, Array<A>>()
  for (const item of items) {
    const group = groups.get(item.key)
    if (group) group.push(item)
    else groups.set(item.key, [item])
  }
  return groups
}

export const makeSemaphores = (sql: SqlClient.SqlClient, info: DialectInfo) => {
  const key = sql("key")
  const forUpdate = info.dialect === "sqlite" ? sql`` : sql`FOR UPDATE`

  /** Takes up to `want` slots of `key`; returns how many it got. Runs inside the caller's transaction. */
  const acquire = (k: string, limit: number, durationMs: number, want: number, now: number) =>
    Effect.gen(function*() {
      const row = { key: k, value: limit, expires_at: now + durationMs, created_at: now, updated_at: now }
      yield* info.dialect === "mysql"
        ? sql`INSERT IGNORE INTO steady_queue_semaphores ${sql.insert(row)}`
        : sql`INSERT INTO steady_queue_semaphores ${sql.insert(row)} ON CONFLICT (${key}) DO NOTHING`
      const [current] = decodeValue(yield* sql`SELECT value FROM steady_queue_semaphores WHERE ${key} = ${k} ${forUpdate}`)
      const got = Math.max(0, Math.min(current?.value ?? 0, want))
      if (got > 0) {
        yield* sql`UPDATE steady_queue_semaphores SET value = value - ${got}, expires_at = ${now + durationMs}, updated_at = ${now}
                   WHERE ${key} = ${k}`
      }
      return got
    })

  const insertReady = (jobs: ReadonlyArray<Limited>, now: number) =>
    jobs.length === 0 ? Effect.void : sql`INSERT INTO steady_queue_ready_executions ${
      sql.insert(jobs.map((j) => ({ job_id: j.jobId, queue_name: j.queueName, priority: j.priority, created_at: now })))
    }`.unprepared.pipe(Effect.asVoid)

  const insertBlocked = (jobs: ReadonlyArray<Limited>, now: number) =>
    jobs.length === 0 ? Effect.void : sql`INSERT INTO steady_queue_blocked_executions ${
      sql.insert(jobs.map((j) => ({
        job_id: j.jobId,
        queue_name: j.queueName,
        priority: j.priority,
        concurrency_key: j.key,
        expires_at: now + j.durationMs,
        created_at: now
      })))
    }`.unprepared.pipe(Effect.asVoid)

  /**
   * Dispatches limited jobs: per key, one semaphore acquisition for the whole group; those that got a slot go to
   * ready (highest priority first), the rest are blocked. Runs inside the caller's transaction.
   */
  const dispatch = (jobs: ReadonlyArray<Limited>, now: number): Effect.Effect<void, SqlError.SqlError> =>
    Effect.gen(function*() {
      if (jobs.length === 0) return
      const ready: Array<Limited> = []
      const blocked: Array<Limited> = []
      for (const [k, group] of byKey(jobs)) {
        const ordered = [...group].sort((a, b) => b.priority - a.priority || a.jobId - b.jobId)
        const got = yield* acquire(k, ordered[0].limit, ordered[0].durationMs, ordered.length, now)
        ready.push(...ordered.slice(0, got))
        blocked.push(...ordered.slice(got))
      }
      yield* insertReady(ready, now)
      yield* insertBlocked(blocked, now)
    })

  /** Moves up to `count` blocked jobs of `key` to ready, as far as the semaphore lets them. */
  const release = (k: string, count: number, now: number) =>
    sql.withTransaction(Effect.gen(function*() {
      // SQLite: take the write lock first, so this transaction never has to upgrade from a read.
      if (info.dialect === "sqlite") yield* sql`UPDATE steady_queue_semaphores SET updated_at = updated_at WHERE ${key} = ${k}`
      const candidates = decodeBlocked(yield* sql`
        SELECT b.id, b.job_id, b.queue_name, b.priority, b.concurrency_key, j.concurrency_limit, j.concurrency_duration
        FROM steady_queue_blocked_executions b JOIN steady_queue_jobs j ON j.id = b.job_id
        WHERE b.concurrency_key = ${k} ORDER BY b.priority DESC, b.job_id ASC
        LIMIT ${sql.literal(String(Math.max(1, Math.trunc(count))))}
        ${info.dialect === "sqlite" ? sql`` : info.dialect === "pg" ? sql`FOR UPDATE OF b SKIP LOCKED` : sql`FOR UPDATE SKIP LOCKED`}`)
      if (candidates.length === 0) return 0
      const got = yield* acquire(k, candidates[0].concurrency_limit, candidates[0].concurrency_duration, candidates.length, now)
      const released = candidates.slice(0, got)
      if (released.length === 0) return 0
      yield* sql`DELETE FROM steady_queue_blocked_executions WHERE ${sql.in("id", released.map((r) => r.id))}`.unprepared
      yield* insertReady(released.map((r) => ({
        jobId: r.job_id,
        queueName: r.queue_name,
        priority: r.priority,
        key: k,
        limit: r.concurrency_limit,
        durationMs: r.concurrency_duration
      })), now)
      return released.length
    }))

  /** Gives back one slot per finished or failed job (never above the limit), then unblocks as many jobs. */
  const signal = (jobs: ReadonlyArray<{ readonly key: string; readonly limit: number }>, now: number) =>
    Effect.forEach(byKey(jobs), ([k, group]) =>
      sql`UPDATE steady_queue_semaphores
          SET value = CASE WHEN value + ${group.length} > ${group[0].limit} THEN ${group[0].limit} ELSE value + ${group.length} END,
              updated_at = ${now}
          WHERE ${key} = ${k}`.pipe(Effect.zipRight(release(k, group.length, now))), { discard: true })

  /** Maintenance: drops expired semaphores, then releases blocked jobs whose wait expired, one per key. */
  const maintain = (now: number, batchSize: number) =>
    Effect.gen(function*() {
      yield* sql`DELETE FROM steady_queue_semaphores WHERE expires_at < ${now}`
      const keys = (yield* sql<{ readonly concurrency_key: string }>`
        SELECT DISTINCT concurrency_key FROM steady_queue_blocked_executions WHERE expires_at < ${now}
        LIMIT ${sql.literal(String(Math.max(1, Math.trunc(batchSize))))}`).map((r) => r.concurrency_key)
      let released = 0
      for (const k of keys) released += yield* release(k, 1, now)
      return released
    })

  /**
   * Makes jobs ready again (retry, due scheduled jobs): unlimited ones straight to ready, limited ones through
   * their semaphore. Runs inside the caller's transaction.
   */
  const readyAgain = (jobIds: ReadonlyArray<number>, now: number) =>
    Effect.gen(function*() {
      if (jobIds.length === 0) return
      const rows = decodeJobs(yield* sql`
        SELECT id, queue_name, priority, concurrency_key, concurrency_limit, concurrency_duration
        FROM steady_queue_jobs WHERE ${sql.in("id", jobIds)}`.unprepared)
      const limited: Array<Limited> = []
      const unlimited: Array<Limited> = []
      for (const r of rows) {
        const job = {
          jobId: r.id,
          queueName: r.queue_name,
          priority: r.priority,
          key: r.concurrency_key ?? "",
          limit: r.concurrency_limit ?? 1,
          durationMs: r.concurrency_duration ?? 0
        }
        if (r.concurrency_key === null) unlimited.push(job)
        else limited.push(job)
      }
      yield* insertReady(unlimited, now)
      yield* dispatch(limited, now)
    })

  /** The concurrency settings of jobs that have them. */
  const limitsOf = (jobIds: ReadonlyArray<number>) =>
    jobIds.length === 0
      ? Effect.succeed([] as ReadonlyArray<{ readonly key: string; readonly limit: number }>)
      : sql`SELECT id, queue_name, priority, concurrency_key, concurrency_limit, concurrency_duration
            FROM steady_queue_jobs WHERE ${sql.in("id", jobIds)} AND concurrency_key IS NOT NULL`.unprepared.pipe(
        Effect.map((rows) => decodeJobs(rows).map((r) => ({ key: r.concurrency_key!, limit: r.concurrency_limit ?? 1 })))
      )

  return { dispatch, signal, release, maintain, readyAgain, limitsOf } as const
}
