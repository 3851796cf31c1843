/**
 * The producer and operator service: enqueue, look up, retry, discard, pause and resume, clear finished jobs.
 */
import { Clock, Context, Duration, Effect, Either, Layer, Option } from "effect"
import {
  type InvalidJobOptionsError,
  type InvalidQueueNameError,
  InvalidRecurringTaskError,
  JobInProgressError,
  JobNotFailedError,
  JobNotFoundError,
  type PayloadEncodeError,
  type PersistenceError
} from "./Errors.js"
import type { EnqueuedJob, JobInfo, QueueInfo, RecurringTask } from "./Domain.js"
import { JobEvents } from "./JobEvents.js"
import { defaults } from "./QueueConfig.js"
import { announceEnqueued } from "./internal/announce.js"
import { checkQueueName, prepareJobs } from "./internal/prepare.js"
import type { JobWithStateRow } from "./internal/Storage.js"
import { jobView } from "./internal/jobView.js"
import { Store } from "./internal/Store.js"
import { Wakeup } from "./internal/Wakeup.js"

export type { EnqueuedJob } from "./Domain.js"

export interface EnqueueOptions {
  /** Queue name; defaults to the task's queue. */
  readonly queue?: string
  /** Integer from -100 to 100, larger runs first; defaults to the task's priority. */
  readonly priority?: number
  /** Run no earlier than this long from now. */
  readonly delay?: Duration.DurationInput
  /** Run no earlier than this time. */
  readonly runAt?: Date
}

/** A job ready to be enqueued, made by `Task.job`; enqueue several at once with `JobClient.enqueueAll`. */
export interface JobRequest {
  readonly taskName: string
  readonly queue: string
  readonly priority: number
  readonly options: EnqueueOptions
  /** The task's concurrency control, resolved for this payload. */
  readonly concurrency: { readonly key: string; readonly limit: number; readonly durationMs: number } | undefined
  readonly encodePayload: () => Either.Either<string, PayloadEncodeError>
}

export type EnqueueError = InvalidJobOptionsError | PayloadEncodeError | PersistenceError

export type { JobInfo, JobState, QueueInfo } from "./Domain.js"

export interface ClearFinishedOptions {
  /** Keep jobs finished within this period; default `clear_finished_jobs_after`, 1 day. */
  readonly olderThan?: Duration.DurationInput
  readonly batchSize?: number
}

export interface JobClientService {
  readonly enqueue: (request: JobRequest) => Effect.Effect<EnqueuedJob, EnqueueError>
  /** Validates and encodes every request first; then one multi-row INSERT per table per 1,000 jobs, in one transaction. */
  readonly enqueueAll: (requests: Iterable<JobRequest>) => Effect.Effect<ReadonlyArray<EnqueuedJob>, EnqueueError>
  readonly find: (id: number) => Effect.Effect<Option.Option<JobInfo>, PersistenceError>
  readonly retry: (
    id: number
  ) => Effect.Effect<void, JobNotFoundError | JobNotFailedError | PersistenceError>
  /** Retries those of the given jobs that are failed; returns how many. */
  readonly retryMany: (ids: ReadonlyArray<number>) => Effect.Effect<number, PersistenceError>
  readonly retryAllFailed: Effect.Effect<number, PersistenceError>
  readonly discard: (id: number) => Effect.Effect<void, JobNotFoundError | JobInProgressError | PersistenceError>
  /** Discards the given jobs; fails with `JobInProgressError`, discarding none, if a worker holds one of them. */
  readonly discardMany: (ids: ReadonlyArray<number>) => Effect.Effect<number, JobInProgressError | PersistenceError>
  readonly discardAllFailed: Effect.Effect<number, PersistenceError>
  /** Failed jobs in job id order, `limit` at a time after `afterId`. */
  readonly failedJobs: (
    options?: { readonly limit?: number; readonly afterId?: number }
  ) => Effect.Effect<ReadonlyArray<JobInfo>, PersistenceError>
  /** Fails with `InvalidQueueNameError`, writing nothing, for a name no queue can have. */
  readonly pause: (queue: string) => Effect.Effect<void, InvalidQueueNameError | PersistenceError>
  readonly resume: (queue: string) => Effect.Effect<void, InvalidQueueNameError | PersistenceError>
  readonly pausedQueues: Effect.Effect<ReadonlyArray<string>, PersistenceError>
  /** Queues with ready jobs, and paused queues, with how many jobs are ready in each. */
  readonly queues: Effect.Effect<ReadonlyArray<QueueInfo>, PersistenceError>
  /** Deletes finished jobs older than `olderThan`, in batches; returns how many. */
  readonly clearFinishedJobs: (options?: ClearFinishedOptions) => Effect.Effect<number, PersistenceError>
  /** Adds or replaces a dynamic recurring task (made with `Recurring.define(options, false)`). */
  readonly addRecurringTask: (task: RecurringTask) => Effect.Effect<void, InvalidRecurringTaskError | PersistenceError>
  /** Removes a dynamic recurring task; returns whether there was one. */
  readonly removeRecurringTask: (key: string) => Effect.Effect<boolean, InvalidRecurringTaskError | PersistenceError>
  /** Every recurring task, static and dynamic. */
  readonly recurringTasks: Effect.Effect<ReadonlyArray<RecurringTask>, PersistenceError>
}

const toJobInfo = (row: JobWithStateRow): Option.Option<JobInfo> =>
  row.state === null ? Option.none() : Option.some({
    ...jobView(row),
    arguments: row.arguments,
    state: row.state,
    updatedAt: new Date(row.updated_at)
  })

const make = Effect.gen(function*() {
  const store = yield* Store
  const events = yield* JobEvents
  const wakeup = yield* Wakeup

  const enqueueAll = (requests: Iterable<JobRequest>) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const jobs = yield* prepareJobs(Array.from(requests), now)
      if (jobs.length === 0) return []
      return yield* announceEnqueued(events, wakeup, yield* store.enqueue(jobs, now))
    }).pipe(Effect.tap((jobs) => Effect.annotateCurrentSpan("jobs", jobs.length)), Effect.withSpan("steady-queue.enqueue", { captureStackTrace: false }))

  const find = (id: number) => Effect.map(store.jobs.find(id), Option.flatMap(toJobInfo))

  const requireJob = (id: number) =>
    Effect.flatMap(find(id), Option.match({
      onNone: () => Effect.fail(new JobNotFoundError({ jobId: id, message: `job ${id} does not exist` })),
      onSome: Effect.succeed
    }))

  const inProgress = (id: number) =>
    new JobInProgressError({ jobId: id, message: `job ${id} is in progress on a worker` })

  const retryMany = (ids: ReadonlyArray<number>) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => store.failed.retry(ids, now)).pipe(
      Effect.tap((retried) => retried.length > 0 ? wakeup.ring : Effect.void),
      Effect.map((retried) => retried.length)
    )

  const discardMany = (ids: ReadonlyArray<number>) =>
    store.withTransaction(Effect.gen(function*() {
      const rows = yield* store.jobs.findMany(ids)
      const claimed = rows.find((r) => r.state === "claimed")
      if (claimed) return yield* inProgress(claimed.id)
      return yield* store.failed.discard(ids, yield* Clock.currentTimeMillis)
    }))

  /** Applies `action` to every failed job, a batch at a time, until none is left. */
  const allFailed = (action: (ids: ReadonlyArray<number>) => Effect.Effect<number, PersistenceError>) =>
    Effect.iterate({ total: 0, done: false }, {
      while: (s) => !s.done,
      body: (s) =>
        Effect.flatMap(store.failed.nextFailedBatch(500), (ids) =>
          ids.length === 0
            ? Effect.succeed({ total: s.total, done: true })
            : Effect.map(action(ids), (n) => ({ total: s.total + n, done: n === 0 })))
    }).pipe(Effect.map((s) => s.total))

  const service: JobClientService = {
    enqueue: (request) => Effect.map(enqueueAll([request]), (jobs) => jobs[0]),
    enqueueAll,
    find,
    retry: (id) =>
      Effect.gen(function*() {
        const job = yield* requireJob(id)
        if (job.state !== "failed") {
          return yield* new JobNotFailedError({ jobId: id, state: job.state, message: `job ${id} is ${job.state}, not failed` })
        }
        yield* retryMany([id])
      }),
    retryMany,
    retryAllFailed: allFailed(retryMany),
    discard: (id) =>
      Effect.gen(function*() {
        const job = yield* requireJob(id)
        if (job.state === "claimed") return yield* inProgress(id)
        const n = yield* store.failed.discard([id], yield* Clock.currentTimeMillis)
        // Claimed between the look-up and the delete: the guard in the DELETE kept it.
        if (n === 0) return yield* inProgress(id)
      }),
    discardMany: (ids) => discardMany(ids),
    discardAllFailed: allFailed((ids) => Effect.flatMap(Clock.currentTimeMillis, (now) => store.failed.discard(ids, now, "failed"))),
    failedJobs: (options) =>
      Effect.flatMap(store.jobs.failed(options?.limit ?? 100, options?.afterId ?? 0), store.jobs.findMany).pipe(
        Effect.map((rows) => rows.flatMap((r) => Option.toArray(toJobInfo(r))).sort((a, b) => a.id - b.id))
      ),
    pause: (queue) =>
      checkQueueName(queue).pipe(
        Effect.zipRight(Clock.currentTimeMillis),
        Effect.flatMap((now) => store.queues.pause(queue, now)),
        Effect.asVoid
      ),
    resume: (queue) =>
      checkQueueName(queue).pipe(Effect.zipRight(store.queues.resume(queue)), Effect.zipRight(wakeup.ring), Effect.asVoid),
    pausedQueues: store.queues.paused,
    queues: Effect.map(store.queues.list, (rows) => rows.map(({ name, paused, size }) => ({ name, size, paused }))),
    addRecurringTask: (task) =>
      Effect.gen(function*() {
        const existing = (yield* store.recurring.all).find((r) => r.key === task.key)
        if (existing?.static) {
          return yield* new InvalidRecurringTaskError({ key: task.key, message: `recurring task "${task.key}" is static; change it in code` })
        }
        yield* store.recurring.upsert({ ...task, static: false }, yield* Clock.currentTimeMillis)
      }),
    removeRecurringTask: (key) =>
      Effect.gen(function*() {
        const existing = (yield* store.recurring.all).find((r) => r.key === key)
        if (existing === undefined) return false
        if (existing.static) {
          return yield* new InvalidRecurringTaskError({ key, message: `recurring task "${key}" is static; remove it from code` })
        }
        yield* store.recurring.remove(key)
        return true
      }),
    recurringTasks: store.recurring.all,
    clearFinishedJobs: (options) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const olderThan = Duration.toMillis(options?.olderThan ?? defaults.clearFinishedJobsAfter)
        return yield* store.clearFinished(now - olderThan, options?.batchSize ?? 500)
      })
  }
  return service
})

export class JobClient extends Context.Tag("steady-queue/JobClient")<JobClient, JobClientService>() {
  /** Needs the store, events and wake-up services; `SteadyQueue.layer` provides them all. */
  static readonly layerWithoutDependencies = Layer.effect(JobClient, make)
}

// Accessors, so producers can write `JobClient.enqueueAll([...])`.
export const enqueue = (request: JobRequest) => Effect.flatMap(JobClient, (c) => c.enqueue(request))
export const enqueueAll = (requests: Iterable<JobRequest>) => Effect.flatMap(JobClient, (c) => c.enqueueAll(requests))
export const find = (id: number) => Effect.flatMap(JobClient, (c) => c.find(id))
export const retry = (id: number) => Effect.flatMap(JobClient, (c) => c.retry(id))
export const retryMany = (ids: ReadonlyArray<number>) => Effect.flatMap(JobClient, (c) => c.retryMany(ids))
export const retryAllFailed = Effect.flatMap(JobClient, (c) => c.retryAllFailed)
export const discard = (id: number) => Effect.flatMap(JobClient, (c) => c.discard(id))
export const discardMany = (ids: ReadonlyArray<number>) => Effect.flatMap(JobClient, (c) => c.discardMany(ids))
export const discardAllFailed = Effect.flatMap(JobClient, (c) => c.discardAllFailed)
export const pause = (queue: string) => Effect.flatMap(JobClient, (c) => c.pause(queue))
export const resume = (queue: string) => Effect.flatMap(JobClient, (c) => c.resume(queue))
export const clearFinishedJobs = (options?: ClearFinishedOptions) =>
  Effect.flatMap(JobClient, (c) => c.clearFinishedJobs(options))
export const failedJobs = (options?: { readonly limit?: number; readonly afterId?: number }) =>
  Effect.flatMap(JobClient, (c) => c.failedJobs(options))
export const queues = Effect.flatMap(JobClient, (c) => c.queues)
export const pausedQueues = Effect.flatMap(JobClient, (c) => c.pausedQueues)
