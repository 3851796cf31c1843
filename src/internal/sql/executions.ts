/**
 * Execution rows: a job is ready, scheduled, blocked or failed by having a row in that table (claimed ones: the
 * claim, claim.ts). Each table gets its rows from one function here, whichever transition moves the job there:
 *   ready      prepare for execution and dispatch (a job with a slot, or no limit), dispatch bypassing limits
 *              (a blocked job given a slot, a claimed job released)
 *   scheduled  prepare for execution (a job not due yet)
 *   blocked    dispatch (a limited job without a slot)
 *   failed     fail
 *   cancelled  cancel (a waiting job), and the end of a running job's attempt that a cancel stopped
 * The transitions: prepare for execution in enqueue.ts; dispatch (and dispatching many, or stored jobs by id) and
 * dispatch bypassing limits in semaphores.ts; finish, fail and release in claimed.ts; retry and discard in
 * failed.ts.
 */
import type { SqlClient, Statement } from "@effect/sql"
import { Effect } from "effect"
import type { Dialect } from "./dialect.js"

/** What an execution row copies from its job. */
export interface Execution {
  readonly jobId: number
  readonly queueName: string
  readonly priority: number
}

export interface ScheduledExecution extends Execution {
  readonly scheduledAt: number
}

export interface BlockedExecution extends Execution {
  readonly key: string
  readonly durationMs: number
}

/**
 * The jobs getting execution rows: rows in hand, or a query's (what follows `FROM`) selecting jobs by their own
 * column names (`id, queue_name, priority`, and `scheduled_at`), so a move of jobs already stored needs no
 * round trip to read them first.
 */
export type Jobs<A> = ReadonlyArray<A> | Statement.Fragment

const isRows = <A>(jobs: Jobs<A>): jobs is ReadonlyArray<A> => Array.isArray(jobs)

/** Rows per INSERT: at most 12 parameters a row (a job's) keep every dialect far below its bound-parameter limit. */
export const insertBatchSize = 1000

/** Writes `items` a batch of `insertBatchSize` at a time. */
export const inBatches = <A, E>(
  items: ReadonlyArray<A>,
  write: (batch: ReadonlyArray<A>) => Effect.Effect<unknown, E>
): Effect.Effect<void, E> =>
  Effect.gen(function*() {
    for (let start = 0; start < items.length; start += insertBatchSize) {
      yield* write(items.slice(start, start + insertBatchSize))
    }
  })

export const makeExecutions = (sql: SqlClient.SqlClient, dialect: Dialect) => {
  /**
   * Jobs become ready. One statement, for the caller to run (`.unprepared` for rows in hand, whose text grows
   * with their number) or to embed in a larger one; rows in hand must be at least one.
   */
  const ready = (jobs: Jobs<Execution>, now: number) =>
    isRows(jobs)
      ? sql`INSERT INTO steady_queue_ready_executions ${
        sql.insert(jobs.map((j) => ({ job_id: j.jobId, queue_name: j.queueName, priority: j.priority, created_at: now })))
      }`
      : sql`INSERT INTO steady_queue_ready_executions (job_id, queue_name, priority, created_at)
            SELECT id, queue_name, priority, ${now} FROM ${jobs}`

  /** Jobs wait for their time. Like `ready`: one statement, rows in hand at least one. */
  const scheduled = (jobs: Jobs<ScheduledExecution>, now: number) =>
    isRows(jobs)
      ? sql`INSERT INTO steady_queue_scheduled_executions ${
        sql.insert(jobs.map((j) => ({
          job_id: j.jobId,
          queue_name: j.queueName,
          priority: j.priority,
          scheduled_at: j.scheduledAt,
          created_at: now
        })))
      }`
      : sql`INSERT INTO steady_queue_scheduled_executions (job_id, queue_name, priority, scheduled_at, created_at)
            SELECT id, queue_name, priority, scheduled_at, ${now} FROM ${jobs}`

  /** Limited jobs wait for a slot of their key; the row expires with the key's duration (the failsafe). */
  const blocked = (jobs: ReadonlyArray<BlockedExecution>, now: number) =>
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
   * Jobs failed. The failure remembers the process it happened on, for operators. A job that already has a failed
   * execution (left by an earlier attempt) gets it replaced: the latest error is the one that counts.
   */
  const failed = (jobIds: ReadonlyArray<number>, error: string, processId: number, now: number) =>
    dialect.upsert(
      "steady_queue_failed_executions",
      jobIds.map((job_id) => ({ job_id, error, process_id: processId, created_at: now })),
      "job_id",
      ["error", "process_id", "created_at"]
    ).unprepared

  /** Jobs cancelled: kept like finished ones (`finished_at` set), with the time they were cancelled. */
  const cancelled = (jobIds: ReadonlyArray<number>, now: number) =>
    jobIds.length === 0 ? Effect.void : Effect.zipRight(
      sql`UPDATE steady_queue_jobs SET finished_at = ${now}, updated_at = ${now} WHERE ${sql.in("id", jobIds)}`.unprepared,
      sql`INSERT INTO steady_queue_cancelled_executions ${
        sql.insert(jobIds.map((job_id) => ({ job_id, created_at: now })))
      }`.unprepared
    )

  return { ready, scheduled, blocked, failed, cancelled } as const
}

export type Executions = ReturnType<typeof makeExecutions>
