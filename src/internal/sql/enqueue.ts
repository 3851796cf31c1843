/**
 * Enqueueing: new jobs are written and prepared for execution (ready, blocked or scheduled), one multi-row INSERT
 * per table per batch, atomically, inside the caller's transaction when there is one.
 */
import { prepared } from "./prepared.js"
import type { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Dialect, DialectName } from "./dialect.js"
import { inBatches, insertBatchSize, makeExecutions } from "./executions.js"
import type { InsertedJob, NewJob } from "../storage/Enqueue.js"
import type { StatementError } from "../storage/persistence.js"
import { readyChannel, readyPayload } from "./notify.js"
import { decodeInsertedJobRows } from "./rows.js"
import type { Dispatchable, makeSemaphores } from "./semaphores.js"


export const makeInsertJobs = (dialect: Dialect) => {
  const jobRow = (job: NewJob, now: number) => ({
    public_id: job.publicId,
    queue_name: job.queueName,
    task_name: job.taskName,
    arguments: job.arguments,
    priority: job.priority,
    attempts: 0,
    scheduled_at: job.scheduledAt,
    concurrency_key: job.concurrencyKey,
    concurrency_limit: job.concurrencyLimit,
    concurrency_duration: job.concurrencyDurationMs,
    timeout_ms: job.timeoutMs,
    max_attempts: job.maxAttempts,
    created_at: now,
    updated_at: now
  })

  const insertReturningIds = (rows: ReadonlyArray<Record<string, unknown>>) =>
    dialect.insertAndRead("steady_queue_jobs", rows, "id, public_id", "public_id").pipe(
      Effect.flatMap(decodeInsertedJobRows)
    )

  /** Inserts job rows and returns them with their ids, in the order given. */
  return (jobs: ReadonlyArray<NewJob>, now: number): Effect.Effect<ReadonlyArray<InsertedJob>, StatementError> =>
    Effect.gen(function*() {
      const out: Array<InsertedJob> = []
      for (let start = 0; start < jobs.length; start += insertBatchSize) {
        const batch = jobs.slice(start, start + insertBatchSize)
        const rows = yield* insertReturningIds(batch.map((job) => jobRow(job, now)))
        const ids = new Map(rows.map((r) => [r.public_id, r.id]))
        for (const job of batch) out.push({ ...job, id: ids.get(job.publicId)! })
      }
      return out
    })
}

/**
 * PostgreSQL writes a whole batch (jobs, and their ready or scheduled executions) in one statement: the rows
 * travel as one array per column, so the statement text, and its cost to parse, do not grow with the batch.
 */
export const makeEnqueuePg = (sql: SqlClient.SqlClient, dialect: Dialect) => {
  const executions = makeExecutions(sql, dialect)
  return (jobs: ReadonlyArray<NewJob>, now: number): Effect.Effect<ReadonlyArray<InsertedJob>, StatementError> =>
  Effect.gen(function*() {
    const out: Array<InsertedJob> = []
    for (let start = 0; start < jobs.length; start += insertBatchSize) {
      const batch = jobs.slice(start, start + insertBatchSize)
      const column = <A>(f: (job: NewJob) => A) => batch.map(f)
      const rows = yield* sql`${sql.literal(prepared)}
        WITH input AS (
          SELECT * FROM unnest(
            ${column((j) => j.publicId)}::text[], ${column((j) => j.queueName)}::text[],
            ${column((j) => j.taskName)}::text[], ${column((j) => j.arguments)}::text[],
            ${column((j) => j.priority)}::int4[], ${column((j) => j.scheduledAt)}::int8[],
            ${column((j) => j.concurrencyKey)}::text[], ${column((j) => j.concurrencyLimit)}::int4[],
            ${column((j) => j.concurrencyDurationMs)}::int8[], ${column((j) => j.timeoutMs)}::int8[],
            ${column((j) => j.maxAttempts)}::int4[]
          ) WITH ORDINALITY AS t(public_id, queue_name, task_name, arguments, priority, scheduled_at, concurrency_key,
                                 concurrency_limit, concurrency_duration, timeout_ms, max_attempts, ord)
        ), jobs AS (
          INSERT INTO steady_queue_jobs (public_id, queue_name, task_name, arguments, priority, attempts, scheduled_at,
                                         concurrency_key, concurrency_limit, concurrency_duration, timeout_ms, max_attempts,
                                         created_at, updated_at)
          SELECT public_id, queue_name, task_name, arguments, priority, 0, scheduled_at, concurrency_key, concurrency_limit,
                 concurrency_duration, timeout_ms, max_attempts, ${now}, ${now}
          FROM input ORDER BY ord
          RETURNING id, public_id, queue_name, priority, scheduled_at, concurrency_key
        ), ready AS (
          ${executions.ready(sql`jobs WHERE scheduled_at <= ${now} AND concurrency_key IS NULL`, now)}
        ), scheduled AS (
          ${executions.scheduled(sql`jobs WHERE scheduled_at > ${now}`, now)}
        ), woken AS (
          SELECT pg_notify(${readyChannel}, ${readyPayload}) FROM jobs
          WHERE scheduled_at <= ${now} AND concurrency_key IS NULL LIMIT 1
        )
        -- Referenced, so that it runs: workers in other processes claim on commit, not at their next poll.
        SELECT id, public_id FROM jobs WHERE (SELECT count(*) FROM woken) >= 0`.pipe(Effect.flatMap(decodeInsertedJobRows))
      const ids = new Map(rows.map((r) => [r.public_id, r.id]))
      for (const job of batch) out.push({ ...job, id: ids.get(job.publicId)! })
    }
    return out
  })
}

const isLimited = (j: NewJob) => j.concurrencyKey !== null

const toDispatchable = (j: InsertedJob): Dispatchable => ({
  jobId: j.id,
  queueName: j.queueName,
  priority: j.priority,
  key: j.concurrencyKey,
  limit: j.concurrencyLimit ?? 1,
  durationMs: j.concurrencyDurationMs ?? 0
})

type Enqueue = (jobs: ReadonlyArray<NewJob>, now: number) => Effect.Effect<ReadonlyArray<InsertedJob>, StatementError>
type Semaphores = Pick<ReturnType<typeof makeSemaphores>, "dispatch" | "dispatchAll">

type MakeEnqueue = (sql: SqlClient.SqlClient, dialect: Dialect, semaphores: Semaphores) => Enqueue

/** PostgreSQL: the statement itself prepares the jobs for execution, but for the dispatch of due limited ones. */
const enqueueInOneStatement: MakeEnqueue = (sql, dialect, semaphores) => {
  const enqueuePg = makeEnqueuePg(sql, dialect)
  const dispatchLimited = (rows: ReadonlyArray<InsertedJob>, now: number) =>
    semaphores.dispatch(
      rows.flatMap((j) => isLimited(j) && j.scheduledAt <= now ? [{ ...toDispatchable(j), key: j.concurrencyKey! }] : []),
      now
    )
  return (jobs, now) =>
    // One statement per batch: a single batch of unlimited jobs needs no transaction of its own.
    jobs.length <= insertBatchSize && !jobs.some(isLimited)
      ? enqueuePg(jobs, now)
      : sql.withTransaction(Effect.tap(enqueuePg(jobs, now), (rows) => dispatchLimited(rows, now)))
}

/** The jobs written first (their ids read back), then prepared for execution, in one transaction. */
const enqueueThenPrepare: MakeEnqueue = (sql, dialect, semaphores) => {
  const insertJobs = makeInsertJobs(dialect)
  const executions = makeExecutions(sql, dialect)
  const schedule = (jobs: ReadonlyArray<InsertedJob>, now: number) =>
    inBatches(jobs, (batch) =>
      executions.scheduled(
        batch.map((j) => ({ jobId: j.id, queueName: j.queueName, priority: j.priority, scheduledAt: j.scheduledAt })),
        now
      ).unprepared)
  // Semaphores last: their row locks are held for the rest of the transaction.
  const prepareForExecution = (rows: ReadonlyArray<InsertedJob>, now: number) =>
    Effect.zipRight(
      schedule(rows.filter((j) => j.scheduledAt > now), now),
      semaphores.dispatchAll(rows.filter((j) => j.scheduledAt <= now).map(toDispatchable), now)
    )
  return (jobs, now) =>
    sql.withTransaction(Effect.tap(insertJobs(jobs, now), (rows) => prepareForExecution(rows, now)))
}

/** How each dialect enqueues: a whole statement of its own where it has one that does it in one round trip. */
const enqueues: Record<DialectName, MakeEnqueue> = {
  pg: enqueueInOneStatement,
  mysql: enqueueThenPrepare,
  mariadb: enqueueThenPrepare,
  sqlite: enqueueThenPrepare
}

/**
 * Writes new jobs, each prepared for execution: a job not due yet is scheduled; a due one is dispatched, ready at
 * once without a concurrency key and through its key's semaphore with one (ready if it gets a slot, blocked if
 * not). Atomic, joining the caller's transaction if there is one; returns the jobs with their ids, in order.
 */
export const makeEnqueue = (sql: SqlClient.SqlClient, dialect: Dialect, semaphores: Semaphores): Enqueue =>
  enqueues[dialect.name](sql, dialect, semaphores)
