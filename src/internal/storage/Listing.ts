/**
 * Reading jobs for operators: one job with its state, and pages of jobs by state.
 */
import type { Effect, Option } from "effect"
import type { JobState } from "../../Domain.js"
import type { PersistenceError } from "../../Errors.js"
import type { JobRow } from "./Ready.js"

type Ids = ReadonlyArray<number>

/** A job with the state its executions put it in (none while it is between two of them). */
export interface JobWithStateRow extends JobRow {
  readonly finished_at: number | null
  readonly updated_at: number
  readonly state: JobState | null
  readonly error: string | null
  readonly process_id: number | null
  readonly result: string | null
  readonly started_at: number | null
  readonly timeout_ms: number | null
  readonly max_attempts: number | null
  readonly cancel_requested_at: number | null
}

/** A failed attempt, as kept. */
export interface AttemptRow {
  readonly job_id: number
  readonly attempt: number
  readonly process_id: number | null
  readonly started_at: number | null
  readonly finished_at: number
  readonly error: string
}

export interface JobStorage {
  readonly find: (id: number) => Effect.Effect<Option.Option<JobWithStateRow>, PersistenceError>
  /** The failed attempts of a job, oldest first. */
  readonly attempts: (jobId: number) => Effect.Effect<ReadonlyArray<AttemptRow>, PersistenceError>
  readonly findMany: (ids: Ids) => Effect.Effect<ReadonlyArray<JobWithStateRow>, PersistenceError>
  /** Failed job ids after `afterJobId`, oldest failure first. */
  readonly failed: (limit: number, afterJobId: number) => Effect.Effect<Ids, PersistenceError>
}

export interface ListFilter {
  readonly state: JobState
  readonly queue?: string | undefined
  readonly task?: string | undefined
  /** Only jobs with a smaller id (the last id of the previous page). */
  readonly before?: number | undefined
  readonly limit: number
}

/** A job in a list: everything but its payload. */
export interface ListedJobRow {
  readonly id: number
  readonly public_id: string
  readonly queue_name: string
  readonly task_name: string
  readonly priority: number
  readonly attempts: number
  readonly scheduled_at: number
  readonly finished_at: number | null
  readonly created_at: number
  /** When the job entered this state (the execution row's creation; the finish time for finished jobs). */
  readonly since: number | null
  readonly error: string | null
  readonly process_id: number | null
  readonly concurrency_key: string | null
}

export interface ListingStorage {
  /** Jobs in a state, newest first, keyset-paginated by job id. */
  readonly list: (filter: ListFilter) => Effect.Effect<ReadonlyArray<ListedJobRow>, PersistenceError>
  /** The ids of the jobs `list` returns, for bulk actions. */
  readonly ids: (filter: ListFilter) => Effect.Effect<Ids, PersistenceError>
}
