/**
 * Reading jobs for operators: one job with its state, and lists of failed jobs.
 */
import type { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { JobState } from "../../Domain.js"
import type { Dialect } from "./dialect.js"
import { DbInt, DbNullableInt, decodeJobIds, JobRow } from "./rows.js"


const JobWithStateRow = Schema.Struct({
  ...JobRow.fields,
  finished_at: DbNullableInt,
  concurrency_key: Schema.NullOr(Schema.String),
  updated_at: DbInt,
  state: Schema.NullOr(JobState),
  error: Schema.NullOr(Schema.String),
  process_id: DbNullableInt,
  result: Schema.NullOr(Schema.String),
  started_at: DbNullableInt,
  timeout_ms: DbNullableInt,
  max_attempts: DbNullableInt,
  cancel_requested_at: DbNullableInt
})
const decode = Schema.decodeUnknown(Schema.Array(JobWithStateRow))

const AttemptRow = Schema.Struct({
  job_id: DbInt,
  attempt: DbInt,
  process_id: DbNullableInt,
  started_at: DbNullableInt,
  finished_at: DbInt,
  error: Schema.String
})
const decodeAttempts = Schema.decodeUnknown(Schema.Array(AttemptRow))

export const makeJobs = (sql: SqlClient.SqlClient, dialect: Dialect) => {
  const select = (where: ReturnType<typeof sql.and>) =>
    sql`SELECT j.id, j.public_id, j.queue_name, j.task_name, j.arguments, j.priority, j.attempts, j.scheduled_at,
               j.finished_at, j.concurrency_key, j.concurrency_limit, j.concurrency_duration, j.created_at, j.updated_at,
               j.result, CASE WHEN c.id IS NOT NULL THEN c.started_at ELSE j.started_at END AS started_at, j.timeout_ms, j.max_attempts,
               c.cancel_requested_at,
               CASE WHEN c.id IS NOT NULL THEN 'claimed'
                    WHEN f.id IS NOT NULL THEN 'failed'
                    WHEN r.id IS NOT NULL THEN 'ready'
                    WHEN s.id IS NOT NULL THEN 'scheduled'
                    WHEN b.id IS NOT NULL THEN 'blocked'
                    WHEN x.id IS NOT NULL THEN 'cancelled'
                    WHEN j.finished_at IS NOT NULL THEN 'finished' END AS state,
               f.error AS error, COALESCE(c.process_id, f.process_id) AS process_id
        FROM steady_queue_jobs j
        LEFT JOIN steady_queue_claimed_executions c ON c.job_id = j.id
        LEFT JOIN steady_queue_failed_executions f ON f.job_id = j.id
        LEFT JOIN steady_queue_ready_executions r ON r.job_id = j.id
        LEFT JOIN steady_queue_scheduled_executions s ON s.job_id = j.id
        LEFT JOIN steady_queue_blocked_executions b ON b.job_id = j.id
        LEFT JOIN steady_queue_cancelled_executions x ON x.job_id = j.id
        WHERE ${where}`.pipe(Effect.flatMap(decode))

  return {
    find: (id: number) =>
      select(sql.and([sql`j.id = ${id}`])).pipe(Effect.map((rows) => Option.fromNullable(rows[0]))),
    attempts: (jobId: number) =>
      sql`SELECT job_id, attempt, process_id, started_at, finished_at, error FROM steady_queue_attempts
          WHERE job_id = ${jobId} ORDER BY attempt, id`.pipe(Effect.flatMap(decodeAttempts)),
    findMany: (ids: ReadonlyArray<number>) =>
      ids.length === 0 ? Effect.succeed([]) : select(sql.and([sql.in("j.id", ids)])),
    /** Failed jobs, oldest failure first, keyset-paginated by job id. */
    failed: (limit: number, afterJobId: number) =>
      sql`SELECT job_id FROM steady_queue_failed_executions WHERE job_id > ${afterJobId}
          ORDER BY job_id ASC ${dialect.limit(Math.max(1, Math.trunc(limit)))}`.pipe(
        Effect.flatMap(decodeJobIds)
      )
  }
}
