/**
 * Writing new jobs: one multi-row INSERT per table per batch, inside the caller's transaction when there is one.
 */
import type { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { DialectInfo } from "./dialect.js"
import type { InsertedJob, NewJob } from "../storage/Enqueue.js"
import type { StatementError } from "../storage/persistence.js"
import { decodeInsertedJobRows } from "./rows.js"

/** Rows per INSERT: 12 parameters a job keeps every dialect far below its bound-parameter limit. */
export const insertBatchSize = 1000

export const makeInsertJobs = (sql: SqlClient.SqlClient, info: DialectInfo) => {
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
    created_at: now,
    updated_at: now
  })

  const insertReturningIds = (rows: ReadonlyArray<Record<string, unknown>>) =>
    info.insertReturning
      ? sql`INSERT INTO steady_queue_jobs ${sql.insert(rows)} RETURNING id, public_id`.pipe(
        Effect.flatMap(decodeInsertedJobRows)
      )
      : // MySQL: no RETURNING, and auto-increment ids of one INSERT need not be consecutive; read them back.
        sql`INSERT INTO steady_queue_jobs ${sql.insert(rows)}`.unprepared.pipe(
          Effect.zipRight(
            sql`SELECT id, public_id FROM steady_queue_jobs WHERE ${sql.in("public_id", rows.map((r) => r.public_id))}`
              .unprepared
          ),
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
export const makeEnqueuePg = (sql: SqlClient.SqlClient) =>
(jobs: ReadonlyArray<NewJob>, now: number): Effect.Effect<ReadonlyArray<InsertedJob>, StatementError> =>
  Effect.gen(function*() {
    const out: Array<InsertedJob> = []
    for (let start = 0; start < jobs.length; start += insertBatchSize) {
      const batch = jobs.slice(start, start + insertBatchSize)
      const column = <A>(f: (job: NewJob) => A) => batch.map(f)
      const rows = yield* sql`
        WITH input AS (
          SELECT * FROM unnest(
            ${column((j) => j.publicId)}::text[], ${column((j) => j.queueName)}::text[],
            ${column((j) => j.taskName)}::text[], ${column((j) => j.arguments)}::text[],
            ${column((j) => j.priority)}::int4[], ${column((j) => j.scheduledAt)}::int8[],
            ${column((j) => j.concurrencyKey)}::text[], ${column((j) => j.concurrencyLimit)}::int4[],
            ${column((j) => j.concurrencyDurationMs)}::int8[]
          ) WITH ORDINALITY AS t(public_id, queue_name, task_name, arguments, priority, scheduled_at, concurrency_key,
                                 concurrency_limit, concurrency_duration, ord)
        ), jobs AS (
          INSERT INTO steady_queue_jobs (public_id, queue_name, task_name, arguments, priority, attempts, scheduled_at,
                                         concurrency_key, concurrency_limit, concurrency_duration, created_at, updated_at)
          SELECT public_id, queue_name, task_name, arguments, priority, 0, scheduled_at, concurrency_key, concurrency_limit,
                 concurrency_duration, ${now}, ${now}
          FROM input ORDER BY ord
          RETURNING id, public_id, queue_name, priority, scheduled_at, concurrency_key
        ), ready AS (
          INSERT INTO steady_queue_ready_executions (job_id, queue_name, priority, created_at)
          SELECT id, queue_name, priority, ${now} FROM jobs WHERE scheduled_at <= ${now} AND concurrency_key IS NULL
        ), scheduled AS (
          INSERT INTO steady_queue_scheduled_executions (job_id, queue_name, priority, scheduled_at, created_at)
          SELECT id, queue_name, priority, scheduled_at, ${now} FROM jobs WHERE scheduled_at > ${now}
        )
        SELECT id, public_id FROM jobs`.pipe(Effect.flatMap(decodeInsertedJobRows))
      const ids = new Map(rows.map((r) => [r.public_id, r.id]))
      for (const job of batch) out.push({ ...job, id: ids.get(job.publicId)! })
    }
    return out
  })

/** Execution rows (ready or scheduled) for jobs already inserted. */
export const makeInsertExecutions = (sql: SqlClient.SqlClient) => ({
  ready: (jobs: ReadonlyArray<InsertedJob>, now: number) =>
    batched(jobs, (batch) =>
      sql`INSERT INTO steady_queue_ready_executions ${
        sql.insert(batch.map((j) => ({ job_id: j.id, queue_name: j.queueName, priority: j.priority, created_at: now })))
      }`.unprepared),
  scheduled: (jobs: ReadonlyArray<InsertedJob>, now: number) =>
    batched(jobs, (batch) =>
      sql`INSERT INTO steady_queue_scheduled_executions ${
        sql.insert(batch.map((j) => ({
          job_id: j.id,
          queue_name: j.queueName,
          priority: j.priority,
          scheduled_at: j.scheduledAt,
          created_at: now
        })))
      }`.unprepared)
})

const batched = <A, E>(
  items: ReadonlyArray<A>,
  write: (batch: ReadonlyArray<A>) => Effect.Effect<unknown, E>
): Effect.Effect<void, E> =>
  Effect.gen(function*() {
    for (let start = 0; start < items.length; start += insertBatchSize) {
      yield* write(items.slice(start, start + insertBatchSize))
    }
  })
