/**
 * The operator's service, shared by the dashboard and the command line: queues with backlog and latency, jobs
 * by state (keyset-paginated, filtered by queue and task), one job in full, processes, recurring tasks with their
 * last and next runs, jobs finished and failed per minute; and every operator action: retry, discard, run now,
 * pause and resume, clear finished jobs, add and remove dynamic recurring tasks. Nothing here counts a whole
 * table: state counts stop at a cap.
 */
import { Context, type Duration, Effect, type Option } from "effect"
import type {
  InvalidQueueNameError,
  InvalidRecurringTaskError,
  JobInProgressError,
  JobNotFailedError,
  JobNotFoundError,
  JobNotScheduledError,
  PersistenceError,
  RecurringTaskNotFoundError
} from "./Errors.js"
import {
  type DiscardableState,
  type EnqueuedJob,
  type JobInfo,
  type JobState,
  JobStates,
  type ListedJob,
  type ProcessInfo,
  type QueueOverview,
  type RecurringInfo,
  type RecurringTask
} from "./Domain.js"

export const jobStates: ReadonlyArray<JobState> = JobStates

export type {
  DiscardableState,
  ListedJob,
  ProcessInfo,
  QueueOverview,
  RecurringInfo
} from "./Domain.js"

export interface JobFilter {
  readonly queue?: string | undefined
  readonly task?: string | undefined
}

export interface ListOptions extends JobFilter {
  readonly state: JobState
  /** The cursor of the previous page (`JobPage.next`). */
  readonly before?: number | undefined
  /** Default 25, at most 1,000. */
  readonly limit?: number | undefined
}

export interface JobPage {
  readonly jobs: ReadonlyArray<ListedJob>
  /** Pass as `before` for the next (older) page; none on the last page. */
  readonly next: Option.Option<number>
}

export interface StateCount {
  readonly state: JobState
  readonly count: number
  /** True when there are more than `count` (counting stopped at the cap). */
  readonly capped: boolean
}

export interface JobDetail extends JobInfo {
  /** The process holding the job while it is in progress, or the one it failed on, if it is still registered. */
  readonly process: Option.Option<ProcessInfo>
}

export interface MinuteCount {
  readonly minute: Date
  readonly finished: number
  readonly failed: number
}

export interface ClearFinishedOptions {
  /** Keep jobs finished within this period; default `clear_finished_jobs_after`, 1 day. */
  readonly olderThan?: Duration.DurationInput
  readonly batchSize?: number
}

export interface FailedJobsOptions {
  /** Default 100. */
  readonly limit?: number
  /** The last id of the previous page. */
  readonly afterId?: number
}

export interface AdminService {
  // Reads -----------------------------------------------------------------------------------------------------

  /** Queues with ready jobs, and paused queues: size, latency of the oldest ready job, paused. */
  readonly queues: Effect.Effect<ReadonlyArray<QueueOverview>, PersistenceError>
  readonly pausedQueues: Effect.Effect<ReadonlyArray<string>, PersistenceError>
  /** Jobs in each state, counted up to `cap` (default 1,000). */
  readonly stateCounts: (cap?: number) => Effect.Effect<ReadonlyArray<StateCount>, PersistenceError>
  readonly jobs: (options: ListOptions) => Effect.Effect<JobPage, PersistenceError>
  readonly job: (id: number) => Effect.Effect<Option.Option<JobDetail>, PersistenceError>
  /** Failed jobs in job id order, `limit` at a time after `afterId`. */
  readonly failedJobs: (options?: FailedJobsOptions) => Effect.Effect<ReadonlyArray<JobInfo>, PersistenceError>
  readonly processes: Effect.Effect<ReadonlyArray<ProcessInfo>, PersistenceError>
  /** Every recurring task, static and dynamic, with its last and next runs. */
  readonly recurringTasks: Effect.Effect<ReadonlyArray<RecurringInfo>, PersistenceError>
  /** Jobs finished and failed in each of the last 60 minutes, oldest first. */
  readonly throughput: Effect.Effect<ReadonlyArray<MinuteCount>, PersistenceError>

  // Jobs ------------------------------------------------------------------------------------------------------

  /** Puts a failed job back in ready (attempts + 1). */
  readonly retry: (id: number) => Effect.Effect<void, JobNotFoundError | JobNotFailedError | PersistenceError>
  /** Retries those of the given jobs that are failed; returns how many. */
  readonly retryMany: (ids: ReadonlyArray<number>) => Effect.Effect<number, PersistenceError>
  /** Retries every failed job matching the filter; returns how many. */
  readonly retryAll: (filter: JobFilter) => Effect.Effect<number, PersistenceError>
  readonly retryAllFailed: Effect.Effect<number, PersistenceError>
  /** Deletes a job that no worker holds. */
  readonly discard: (id: number) => Effect.Effect<void, JobNotFoundError | JobInProgressError | PersistenceError>
  /** Discards the given jobs; fails with `JobInProgressError`, discarding none, if a worker holds one of them. */
  readonly discardMany: (ids: ReadonlyArray<number>) => Effect.Effect<number, JobInProgressError | PersistenceError>
  /** Discards every job in `state` matching the filter, except those a worker holds; returns how many. */
  readonly discardAll: (
    filter: JobFilter & { readonly state: DiscardableState }
  ) => Effect.Effect<number, PersistenceError>
  readonly discardAllFailed: Effect.Effect<number, PersistenceError>
  /**
   * Cancels a job: one that waits (ready, scheduled, blocked) ends cancelled now ("cancelled"); a running one is
   * interrupted by its worker within a second and then ends cancelled ("requested"); "ended" if it had ended
   * already (succeeded, failed or cancelled), which changes nothing.
   */
  readonly cancel: (id: number) => Effect.Effect<"cancelled" | "requested" | "ended", JobNotFoundError | PersistenceError>
  /** Makes a scheduled job due now. */
  readonly runNow: (jobId: number) => Effect.Effect<void, JobNotFoundError | JobNotScheduledError | PersistenceError>
  /** Deletes finished jobs older than `olderThan`, in batches; returns how many. */
  readonly clearFinishedJobs: (options?: ClearFinishedOptions) => Effect.Effect<number, PersistenceError>

  // Queues ----------------------------------------------------------------------------------------------------

  /** Fails with `InvalidQueueNameError`, writing nothing, for a name no queue can have. */
  readonly pause: (queue: string) => Effect.Effect<void, InvalidQueueNameError | PersistenceError>
  readonly resume: (queue: string) => Effect.Effect<void, InvalidQueueNameError | PersistenceError>

  // Recurring tasks -------------------------------------------------------------------------------------------

  /** Enqueues a run of a recurring task now, besides its schedule. */
  readonly runRecurringNow: (key: string) => Effect.Effect<EnqueuedJob, RecurringTaskNotFoundError | PersistenceError>
  /** Adds or replaces a dynamic recurring task (made with `Recurring.define(options, false)`). */
  readonly addRecurringTask: (task: RecurringTask) => Effect.Effect<void, InvalidRecurringTaskError | PersistenceError>
  /** Removes a dynamic recurring task; returns whether there was one. */
  readonly removeRecurringTask: (key: string) => Effect.Effect<boolean, InvalidRecurringTaskError | PersistenceError>
}

/** Built by `SteadyQueue.layer` and the drivers' `layer`s. */
export class Admin extends Context.Tag("steady-queue/Admin")<Admin, AdminService>() {}

// Accessors: `Admin.retry(id)` for `Effect.flatMap(Admin.Admin, (admin) => admin.retry(id))`.
export const queues = Effect.flatMap(Admin, (a) => a.queues)
export const pausedQueues = Effect.flatMap(Admin, (a) => a.pausedQueues)
export const stateCounts = (cap?: number) => Effect.flatMap(Admin, (a) => a.stateCounts(cap))
export const jobs = (options: ListOptions) => Effect.flatMap(Admin, (a) => a.jobs(options))
export const job = (id: number) => Effect.flatMap(Admin, (a) => a.job(id))
export const failedJobs = (options?: FailedJobsOptions) => Effect.flatMap(Admin, (a) => a.failedJobs(options))
export const processes = Effect.flatMap(Admin, (a) => a.processes)
export const recurringTasks = Effect.flatMap(Admin, (a) => a.recurringTasks)
export const throughput = Effect.flatMap(Admin, (a) => a.throughput)
export const retry = (id: number) => Effect.flatMap(Admin, (a) => a.retry(id))
export const retryMany = (ids: ReadonlyArray<number>) => Effect.flatMap(Admin, (a) => a.retryMany(ids))
export const retryAll = (filter: JobFilter) => Effect.flatMap(Admin, (a) => a.retryAll(filter))
export const retryAllFailed = Effect.flatMap(Admin, (a) => a.retryAllFailed)
export const discard = (id: number) => Effect.flatMap(Admin, (a) => a.discard(id))
export const cancel = (id: number) => Effect.flatMap(Admin, (a) => a.cancel(id))
export const discardMany = (ids: ReadonlyArray<number>) => Effect.flatMap(Admin, (a) => a.discardMany(ids))
export const discardAll = (filter: JobFilter & { readonly state: DiscardableState }) =>
  Effect.flatMap(Admin, (a) => a.discardAll(filter))
export const discardAllFailed = Effect.flatMap(Admin, (a) => a.discardAllFailed)
export const runNow = (jobId: number) => Effect.flatMap(Admin, (a) => a.runNow(jobId))
export const clearFinishedJobs = (options?: ClearFinishedOptions) => Effect.flatMap(Admin, (a) => a.clearFinishedJobs(options))
export const pause = (queue: string) => Effect.flatMap(Admin, (a) => a.pause(queue))
export const resume = (queue: string) => Effect.flatMap(Admin, (a) => a.resume(queue))
export const runRecurringNow = (key: string) => Effect.flatMap(Admin, (a) => a.runRecurringNow(key))
export const addRecurringTask = (task: RecurringTask) => Effect.flatMap(Admin, (a) => a.addRecurringTask(task))
export const removeRecurringTask = (key: string) => Effect.flatMap(Admin, (a) => a.removeRecurringTask(key))
