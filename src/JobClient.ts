/**
 * The producer's service: enqueue jobs and look them up. Operator actions (retry, discard, pause, resume,
 * clearing finished jobs, dynamic recurring tasks) are `Admin`'s; the accessors of this module that did them
 * still work and forward there.
 */
import { Context, type Duration, Effect, type Either, type Option } from "effect"
import { Admin, type ClearFinishedOptions } from "./Admin.js"
import type { JobInfo } from "./Domain.js"
import type { InvalidJobOptionsError, PayloadEncodeError, PersistenceError } from "./Errors.js"
import type { CancelOptions, EnqueuedHandle, HandleOperations, ResultCodecs } from "./JobHandle.js"

export type { EnqueuedJob } from "./Domain.js"
export type { ClearFinishedOptions } from "./Admin.js"

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

/**
 * A job ready to be enqueued, made by `Task.job`; enqueue several at once with `JobClient.enqueueAll`. `A` and
 * `E` are its task's result and declared failures, which its handle decodes.
 */
export interface JobRequest<A = unknown, E = unknown> {
  readonly taskName: string
  readonly queue: string
  readonly priority: number
  readonly options: EnqueueOptions
  /** The task's concurrency control, resolved for this payload. */
  readonly concurrency: { readonly key: string; readonly limit: number; readonly durationMs: number } | undefined
  /** The task's timeout and attempt limit, kept with the job for operators; null when it has none. */
  readonly timeoutMs?: number | null
  readonly maxAttempts?: number | null
  /** How the job's handle reads its result and failures back. */
  readonly codecs: ResultCodecs<A, E>
  readonly encodePayload: () => Either.Either<string, PayloadEncodeError>
}

/** The handles of requests enqueued together, each typed by its own task. */
export type HandlesOf<Rs extends ReadonlyArray<JobRequest>> = {
  readonly [K in keyof Rs]: Rs[K] extends JobRequest<infer A, infer E> ? EnqueuedHandle<A, E> : never
}

export type EnqueueError = InvalidJobOptionsError | PayloadEncodeError | PersistenceError

export type { JobInfo, JobState, QueueInfo } from "./Domain.js"

export interface JobClientService extends HandleOperations {
  readonly enqueue: <A, E>(request: JobRequest<A, E>) => Effect.Effect<EnqueuedHandle<A, E>, EnqueueError>
  /**
   * Validates and encodes every request first; then one multi-row INSERT per table per 1,000 jobs, in one
   * transaction. Returns a handle per request, in order.
   */
  readonly enqueueAll: {
    <const Rs extends ReadonlyArray<JobRequest>>(requests: Rs): Effect.Effect<HandlesOf<Rs>, EnqueueError>
    (requests: Iterable<JobRequest>): Effect.Effect<ReadonlyArray<EnqueuedHandle<unknown, unknown>>, EnqueueError>
  }
  /** The job in full (state, attempts, result); none once it is deleted. */
  readonly find: (id: number) => Effect.Effect<Option.Option<JobInfo>, PersistenceError>
}

/** Built by `SteadyQueue.layer` and the drivers' `layer`s. */
export class JobClient extends Context.Tag("steady-queue/JobClient")<JobClient, JobClientService>() {}

// Accessors, so producers can write `JobClient.enqueueAll([...])`.
export const enqueue = <A, E>(request: JobRequest<A, E>) => Effect.flatMap(JobClient, (c) => c.enqueue(request))
export function enqueueAll<const Rs extends ReadonlyArray<JobRequest>>(
  requests: Rs
): Effect.Effect<HandlesOf<Rs>, EnqueueError, JobClient>
export function enqueueAll(
  requests: Iterable<JobRequest>
): Effect.Effect<ReadonlyArray<EnqueuedHandle<unknown, unknown>>, EnqueueError, JobClient>
export function enqueueAll(requests: Iterable<JobRequest>) {
  return Effect.flatMap(JobClient, (c) => c.enqueueAll(requests))
}
export const find = (id: number) => Effect.flatMap(JobClient, (c) => c.find(id))
/** Cancels a job (see `JobHandle.cancel`): true if it ended cancelled within `wait`. */
export const cancel = (id: number, options?: CancelOptions) => Effect.flatMap(JobClient, (c) => c.cancel(id, options))

// The operator's actions, now in `Admin`: kept so that code written against them still runs.

/** @deprecated Use `Admin.retry`. */
export const retry = (id: number) => Effect.flatMap(Admin, (a) => a.retry(id))
/** @deprecated Use `Admin.retryMany`. */
export const retryMany = (ids: ReadonlyArray<number>) => Effect.flatMap(Admin, (a) => a.retryMany(ids))
/** @deprecated Use `Admin.retryAllFailed`. */
export const retryAllFailed = Effect.flatMap(Admin, (a) => a.retryAllFailed)
/** @deprecated Use `Admin.discard`. */
export const discard = (id: number) => Effect.flatMap(Admin, (a) => a.discard(id))
/** @deprecated Use `Admin.discardMany`. */
export const discardMany = (ids: ReadonlyArray<number>) => Effect.flatMap(Admin, (a) => a.discardMany(ids))
/** @deprecated Use `Admin.discardAllFailed`. */
export const discardAllFailed = Effect.flatMap(Admin, (a) => a.discardAllFailed)
/** @deprecated Use `Admin.pause`. */
export const pause = (queue: string) => Effect.flatMap(Admin, (a) => a.pause(queue))
/** @deprecated Use `Admin.resume`. */
export const resume = (queue: string) => Effect.flatMap(Admin, (a) => a.resume(queue))
/** @deprecated Use `Admin.clearFinishedJobs`. */
export const clearFinishedJobs = (options?: ClearFinishedOptions) => Effect.flatMap(Admin, (a) => a.clearFinishedJobs(options))
/** @deprecated Use `Admin.failedJobs`. */
export const failedJobs = (options?: { readonly limit?: number; readonly afterId?: number }) =>
  Effect.flatMap(Admin, (a) => a.failedJobs(options))
/** @deprecated Use `Admin.queues` (which also gives each queue's latency). */
export const queues = Effect.flatMap(Admin, (a) => a.queues)
/** @deprecated Use `Admin.pausedQueues`. */
export const pausedQueues = Effect.flatMap(Admin, (a) => a.pausedQueues)
