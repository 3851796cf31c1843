/**
 * Concurrency semaphores: one row per concurrency key whose `value` is the number of free slots; a key without a
 * row, or whose row has expired (`duration` is the failsafe), has all its slots free. Waiting takes slots (or
 * leaves jobs blocked); signalling, in the transaction of the outcome that ends a job, gives its slot back or hands
 * it straight to the key's next blocked job. Every statement that changes slots locks the key's row first, keys in
 * one order, so no committed state ever shows a free slot next to a blocked job of its key.
 */
import type { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import type { Dialect } from "./dialect.js"
import { type BlockedExecution, type Execution, inBatches, type Jobs, makeExecutions } from "./executions.js"
import type { StatementError } from "../storage/persistence.js"
import type { Slot } from "../storage/Semaphores.js"
import { DbInt } from "./rows.js"
import { notifyReady } from "./notify.js"

export type { Slot }

/** A job with a concurrency control, being dispatched through its key's semaphore. */
export interface Limited extends BlockedExecution {
  readonly limit: number
}

/** A due job being dispatched: through its semaphore when it has a concurrency key, straight to ready if not. */
export interface Dispatchable extends Execution {
  readonly key: string | null
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
const decodeBlocked = Schema.decodeUnknown(Schema.Array(BlockedRow))
const JobLimitRow = Schema.Struct({
  id: DbInt,
  queue_name: Schema.String,
  priority: DbInt,
  concurrency_key: Schema.NullOr(Schema.String),
  concurrency_limit: Schema.NullOr(DbInt),
  concurrency_duration: Schema.NullOr(DbInt)
})
const decodeJobs = Schema.decodeUnknown(Schema.Array(JobLimitRow))
const SemaphoreRow = Schema.Struct({ value: DbInt, expires_at: DbInt })
type SemaphoreRow = typeof SemaphoreRow.Type
const decodeSemaphore = Schema.decodeUnknown(Schema.Array(SemaphoreRow))
const LimitRow = Schema.Struct({ concurrency_limit: DbInt })
const decodeLimit = Schema.decodeUnknown(Schema.Array(LimitRow))

const byKey = <A extends { readonly key: string }>(items: ReadonlyArray<A>) => {
  const groups = new Map<string, Array<A>>()
  for (const item of items) {
    const group = groups.get(item.key)
    if (group) group.push(item)
    else groups.set(item.key, [item])
  }
  return groups
}

/** Groups by key, keys in one fixed order: transactions lock semaphores in that order and never wait in a cycle. */
const byKeyInOrder = <A extends { readonly key: string }>(items: ReadonlyArray<A>) =>
  [...byKey(items)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

export const makeSemaphores = (sql: SqlClient.SqlClient, dialect: Dialect) => {
  const key = sql("key")
  /** `LIMIT n`, at least one row. */
  const atMost = (n: number) => dialect.limit(Math.max(1, n))
  const executions = makeExecutions(sql, dialect)

  /** The key's row, locked until the transaction ends (SQLite: the transaction already holds the write lock). */
  const lock = (k: string) =>
    sql`SELECT value, expires_at FROM steady_queue_semaphores WHERE ${key} = ${k} ${dialect.forUpdate}`.pipe(
      Effect.flatMap(decodeSemaphore),
      Effect.map((rows): SemaphoreRow | undefined => rows[0])
    )

  /**
   * Creates the key's row with `taken` of its slots taken, unless another transaction already did; returns
   * whether it created it (the new row is then this transaction's).
   */
  const create = (k: string, limit: number, taken: number, durationMs: number, now: number) => {
    const row = { key: k, value: limit - taken, expires_at: now + durationMs, created_at: now, updated_at: now }
    return dialect.insertIgnore("steady_queue_semaphores", row, "key")
  }

  /** Free slots of a locked row: all of them without a row or once it has expired. */
  const freeOf = (row: SemaphoreRow | undefined, limit: number, now: number) =>
    row === undefined || row.expires_at < now ? limit : Math.max(0, Math.min(row.value, limit))

  const write = (k: string, value: number, now: number, expiresAt?: number) =>
    expiresAt === undefined
      ? sql`UPDATE steady_queue_semaphores SET value = ${value}, updated_at = ${now} WHERE ${key} = ${k}`
      : sql`UPDATE steady_queue_semaphores SET value = ${value}, expires_at = ${expiresAt}, updated_at = ${now}
            WHERE ${key} = ${k}`

  /** Takes up to `want` slots of `key`; returns how many it got. Runs inside the caller's transaction. */
  const acquire = (k: string, limit: number, durationMs: number, want: number, now: number) =>
    Effect.gen(function*() {
      const first = Math.min(limit, want)
      // Insert first where a locking read of a missing row takes a gap lock (two of those deadlock).
      if (dialect.insertBeforeLockingRead && (yield* create(k, limit, first, durationMs, now))) return first
      let row = yield* lock(k)
      if (row === undefined && !dialect.insertBeforeLockingRead) {
        if (yield* create(k, limit, first, durationMs, now)) return first
        row = yield* lock(k)
      }
      if (row !== undefined && row.expires_at < now) {
        // An expired semaphore's slots go to the jobs already waiting on it first.
        if ((yield* settleLocked(k, row, 0, limit, now)) > 0) row = yield* lock(k)
      }
      if (row === undefined) return 0
      const free = freeOf(row, limit, now)
      const got = Math.min(free, want)
      if (got > 0) yield* write(k, free - got, now, now + durationMs)
      return got
    })

  /** Jobs become ready, in one statement (none for no rows). */
  // Every job made ready outside the enqueue's own statement passes here: the one place that tells other processes.
  const ready = (jobs: Jobs<Execution>, now: number): Effect.Effect<void, StatementError> =>
    Array.isArray(jobs) && jobs.length === 0
      ? Effect.void
      : Effect.zipRight(executions.ready(jobs, now).unprepared, notifyReady(sql, dialect))

  /**
   * Makes jobs ready without asking their semaphore: a blocked job handed a slot, a claimed job released (it
   * keeps the slot it holds). A query of jobs (`FROM ...`) needs no read first.
   */
  const dispatchBypassingLimits = ready

  /**
   * Dispatches limited jobs: per key, one semaphore acquisition for the whole group; those that got a slot go to
   * ready (highest priority first), the rest are blocked. Runs inside the caller's transaction.
   */
  const dispatch = (jobs: ReadonlyArray<Limited>, now: number): Effect.Effect<void, StatementError> =>
    Effect.gen(function*() {
      if (jobs.length === 0) return
      const got: Array<Limited> = []
      const blocked: Array<Limited> = []
      for (const [k, group] of byKeyInOrder(jobs)) {
        const ordered = [...group].sort((a, b) => b.priority - a.priority || a.jobId - b.jobId)
        const slots = yield* acquire(k, ordered[0].limit, ordered[0].durationMs, ordered.length, now)
        got.push(...ordered.slice(0, slots))
        blocked.push(...ordered.slice(slots))
      }
      yield* ready(got, now)
      yield* executions.blocked(blocked, now)
    })

  /** The next `n` blocked jobs of `key`, highest priority first, locked (the key's semaphore is locked already). */
  const nextBlocked = (k: string, n: number) =>
    sql`SELECT b.id, b.job_id, b.queue_name, b.priority, b.concurrency_key, j.concurrency_limit, j.concurrency_duration
        FROM steady_queue_blocked_executions b JOIN steady_queue_jobs j ON j.id = b.job_id
        WHERE b.concurrency_key = ${k} ORDER BY b.priority DESC, b.job_id ASC ${atMost(n)}
        ${dialect.forUpdateOf("b")}`.pipe(
      Effect.flatMap(decodeBlocked)
    )

  /** The limit of the key's next blocked job (for a key whose semaphore is gone), if any job is blocked. */
  const blockedLimit = (k: string) =>
    sql`SELECT j.concurrency_limit FROM steady_queue_blocked_executions b JOIN steady_queue_jobs j ON j.id = b.job_id
        WHERE b.concurrency_key = ${k} ORDER BY b.priority DESC, b.job_id ASC LIMIT 1`.pipe(
      Effect.flatMap(decodeLimit),
      Effect.map((rows) => rows[0]?.concurrency_limit)
    )

  /** Blocked jobs handed a slot (taken for them already): out of blocked, into ready. */
  const releaseBlocked = (rows: ReadonlyArray<typeof BlockedRow.Type>, now: number) =>
    rows.length === 0 ? Effect.void : Effect.zipRight(
      sql`DELETE FROM steady_queue_blocked_executions WHERE ${sql.in("id", rows.map((r) => r.id))}`.unprepared,
      dispatchBypassingLimits(rows.map((r) => ({ jobId: r.job_id, queueName: r.queue_name, priority: r.priority })), now)
    )

  /**
   * Settles a key whose row (`row`, already locked) is as read: `returned` slots come back (jobs of the key that
   * ended) and every free slot goes to a blocked job of the key, highest priority first. A slot handed straight on
   * keeps the value (one write, renewing the expiry); when nothing changes nothing is written. Returns the number
   * of jobs released.
   */
  const settleLocked = (
    k: string,
    row: SemaphoreRow | undefined,
    returned: number,
    knownLimit: number | undefined,
    now: number
  ): Effect.Effect<number, StatementError> =>
    Effect.gen(function*() {
      const live = row !== undefined && row.expires_at >= now
      const limit = knownLimit ?? (live ? row.value + returned : yield* blockedLimit(k))
      if (limit === undefined) return 0
      const free = live ? Math.max(0, Math.min(row.value + returned, limit)) : limit
      const released = free > 0 ? yield* nextBlocked(k, free) : []
      if (row === undefined) {
        if (released.length === 0) return 0
        // A key whose semaphore is gone: recreate it (all free), then settle against the row as stored.
        yield* create(k, limit, 0, released[0].concurrency_duration, now)
        const created = yield* lock(k)
        return created === undefined ? 0 : yield* settleLocked(k, created, returned, limit, now)
      }
      const value = free - released.length
      if (released.length > 0) yield* write(k, value, now, now + released[0].concurrency_duration)
      else if (live && value !== row.value) yield* write(k, value, now)
      yield* releaseBlocked(released, now)
      return released.length
    })

  /**
   * Gives back one slot per ended job, inside the caller's transaction (the one recording the outcome), handing
   * it to the next blocked job of its key where there is one. Every key's row is locked before any blocked job
   * is. Returns the number of jobs released.
   */
  const signal = (slots: ReadonlyArray<Slot>, now: number) =>
    Effect.gen(function*() {
      if (slots.length === 0) return 0
      const keys = byKeyInOrder(slots)
      const rows = yield* Effect.forEach(keys, ([k]) => lock(k))
      let released = 0
      for (const [i, [k, group]] of keys.entries()) released += yield* settleLocked(k, rows[i], group.length, group[0].limit, now)
      return released
    })

  /**
   * Locks the semaphores of `slots` in key order, for a transaction that will signal them after deleting rows
   * (blocked executions) that a signalling transaction locks after the semaphore.
   */
  const lockFor = (slots: ReadonlyArray<Slot>) => Effect.forEach(byKeyInOrder(slots), ([k]) => lock(k), { discard: true })

  /** Keys with blocked jobs and a free slot: a value above zero, an expired semaphore or none. */
  const freeKeys = (now: number, n: number) =>
    sql<{ readonly concurrency_key: string }>`
      SELECT DISTINCT b.concurrency_key FROM steady_queue_blocked_executions b
      LEFT JOIN steady_queue_semaphores s ON s.${key} = b.concurrency_key
      WHERE s.id IS NULL OR s.value > 0 OR s.expires_at < ${now}
      ${atMost(n)}`.pipe(Effect.map((rows) => rows.map((r) => r.concurrency_key)))

  /**
   * Releases the blocked jobs of up to `n` keys that have a free slot, one transaction per key; returns how many
   * jobs it released. Pruning and the dispatcher's maintenance run it, for whatever an older version or an
   * operator left behind.
   */
  const releaseFree = (now: number, n: number) =>
    Effect.gen(function*() {
      let released = 0
      for (const k of yield* freeKeys(now, n)) {
        released += yield* sql.withTransaction(Effect.gen(function*() {
          // The write lock first (SQLite), so this transaction never has to upgrade from a read.
          yield* dialect.takeWriteLock("steady_queue_semaphores", sql`${key} = ${k}`)
          return yield* settleLocked(k, yield* lock(k), 0, undefined, now)
        }))
      }
      return released
    })

  /**
   * Maintenance: releases blocked jobs of keys with a free slot (an expired semaphore counts as free), then drops
   * expired semaphores that no blocked job waits on.
   */
  const maintain = (now: number, batchSize: number) =>
    Effect.gen(function*() {
      const released = yield* releaseFree(now, batchSize)
      yield* sql`DELETE FROM steady_queue_semaphores WHERE expires_at < ${now} AND NOT EXISTS (
                   SELECT 1 FROM steady_queue_blocked_executions b WHERE b.concurrency_key = steady_queue_semaphores.${key})`
      return released
    })

  /**
   * Dispatches due jobs: unlimited ones straight to ready (a batch at a time), limited ones through their
   * semaphore. Runs inside the caller's transaction.
   */
  const dispatchAll = (jobs: ReadonlyArray<Dispatchable>, now: number) =>
    Effect.gen(function*() {
      const limited: Array<Limited> = []
      const unlimited: Array<Execution> = []
      for (const job of jobs) {
        if (job.key === null) unlimited.push(job)
        else limited.push({ ...job, key: job.key })
      }
      yield* inBatches(unlimited, (batch) => ready(batch, now))
      yield* dispatch(limited, now)
    })

  /** Dispatches stored jobs by id (due scheduled jobs, retried ones): reads what dispatching needs, then `dispatchAll`. */
  const dispatchJobs = (jobIds: ReadonlyArray<number>, now: number) =>
    Effect.gen(function*() {
      if (jobIds.length === 0) return
      const rows = yield* decodeJobs(yield* sql`
        SELECT id, queue_name, priority, concurrency_key, concurrency_limit, concurrency_duration
        FROM steady_queue_jobs WHERE ${sql.in("id", jobIds)}`.unprepared)
      yield* dispatchAll(rows.map((r) => ({
        jobId: r.id,
        queueName: r.queue_name,
        priority: r.priority,
        key: r.concurrency_key,
        limit: r.concurrency_limit ?? 1,
        durationMs: r.concurrency_duration ?? 0
      })), now)
    })

  /** The slots of the jobs that have a concurrency control. */
  const limitsOf = (jobIds: ReadonlyArray<number>): Effect.Effect<ReadonlyArray<Slot>, StatementError> =>
    jobIds.length === 0
      ? Effect.succeed([])
      : sql`SELECT id, queue_name, priority, concurrency_key, concurrency_limit, concurrency_duration
            FROM steady_queue_jobs WHERE ${sql.in("id", jobIds)} AND concurrency_key IS NOT NULL`.unprepared.pipe(
        Effect.flatMap(decodeJobs),
        Effect.map((rows) => rows.map((r) => ({ key: r.concurrency_key!, limit: r.concurrency_limit ?? 1 })))
      )

  return { dispatch, dispatchAll, dispatchJobs, dispatchBypassingLimits, signal, lockFor, releaseFree, maintain, limitsOf } as const
}
