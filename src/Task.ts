/**
 * Tasks: a name, a payload schema and defaults. Producers import the task to enqueue it; the worker process
 * registers a handler for it with `toLayer`.
 */
import { Context, Duration, Effect, Either, FiberRef, Layer, ParseResult, Schema } from "effect"
import { CurrentJob, type JobDescription } from "./CurrentJob.js"
import { InvalidTaskError, PayloadDecodeError, PayloadEncodeError } from "./Errors.js"
import { type EnqueueError, type EnqueueOptions, JobClient, type JobRequest } from "./JobClient.js"
import type { EnqueuedJob } from "./JobEvents.js"
import { TaskRegistry } from "./TaskRegistry.js"
import { nameProblem, queueNameProblem } from "./internal/names.js"
import { maxPriority, minPriority } from "./internal/prepare.js"

export interface TaskOptions<A, I> {
  /** The payload schema; it must encode to something JSON can hold and must not need services. */
  readonly payload: Schema.Schema<A, I>
  /** Default queue for this task's jobs; "default" when omitted. */
  readonly queue?: string
  /** Default priority, -100..100, larger runs first; 0 when omitted. */
  readonly priority?: number
  /** At most `limit` jobs with the same key run at once (see the README's concurrency controls). */
  readonly concurrency?: ConcurrencyOptions<A>
}

export interface ConcurrencyOptions<A> {
  /** A string, or a function of the payload, naming what is limited together. */
  readonly key: string | ((payload: A) => string)
  /** Jobs with the same key (and group) running at once; default 1. */
  readonly limit?: number
  /** How long a slot is guaranteed; default 3 minutes. */
  readonly duration?: Duration.DurationInput
  /** Tasks in the same group share their limits; default the task's name. */
  readonly group?: string
}

export interface Task<A, I = A> {
  readonly name: string
  readonly payload: Schema.Schema<A, I>
  readonly queue: string
  readonly priority: number
  /** A job request for `JobClient.enqueueAll`. */
  readonly job: (payload: A, options?: EnqueueOptions) => JobRequest
  readonly enqueue: (payload: A, options?: EnqueueOptions) => Effect.Effect<EnqueuedJob, EnqueueError, JobClient>
  /**
   * Registers the handler for this task. The handler may use `CurrentJob`; its other requirements become the
   * layer's. A failure or defect of the handler fails the job with that error.
   */
  readonly toLayer: <X, E, R>(
    handler: (payload: A) => Effect.Effect<X, E, R>
  ) => Layer.Layer<never, never, TaskRegistry | Exclude<R, CurrentJob>>
}

export const defaultQueue = "default"

/** Steady Queue's `default_concurrency_control_period`. */
export const defaultConcurrencyControlPeriod = Duration.minutes(3)

/** Checks what a task definition fixes; a bad one throws `InvalidTaskError` where the task is defined. */
const checkDefinition = <A>(name: string, queue: string, priority: number, concurrency: ConcurrencyOptions<A> | undefined) => {
  const fail = (option: string, message: string) => {
    throw new InvalidTaskError({ taskName: String(name), option, message: `task ${JSON.stringify(name)}: ${message}` })
  }
  const nameIssue = nameProblem("task name", name)
  if (nameIssue !== undefined) fail("name", nameIssue)
  const queueIssue = queueNameProblem(queue)
  if (queueIssue !== undefined) fail("queue", queueIssue)
  if (!Number.isInteger(priority) || priority < minPriority || priority > maxPriority) {
    fail("priority", `priority must be an integer from ${minPriority} to ${maxPriority}, got ${priority}`)
  }
  if (concurrency !== undefined) {
    // A key computed from the payload is checked at enqueue; a fixed one (and the group) can be checked now.
    const key = `${concurrency.group ?? name}/${typeof concurrency.key === "string" ? concurrency.key : ""}`
    const keyIssue = nameProblem("concurrency key", key)
    if (keyIssue !== undefined) fail("concurrency", keyIssue)
    const limit = concurrency.limit ?? 1
    if (!Number.isInteger(limit) || limit < 1) fail("concurrency", `the concurrency limit must be a whole number of at least 1, got ${limit}`)
    if (concurrency.duration !== undefined) {
      const ms = Duration.toMillis(concurrency.duration)
      if (!Number.isFinite(ms) || ms <= 0) {
        fail("concurrency", `the concurrency duration must be a positive, finite duration, got ${Duration.format(concurrency.duration)}`)
      }
    }
  }
}

/**
 * Defines a task. Throws `InvalidTaskError` if the name, the default queue or priority, or a fixed concurrency
 * key breaks the rules enqueue applies, so that a bad definition fails when its module loads.
 */
export const make = <A, I>(name: string, options: TaskOptions<A, I>): Task<A, I> => {
  checkDefinition(name, options.queue ?? defaultQueue, options.priority ?? 0, options.concurrency)
  const json = Schema.parseJson(options.payload)
  const encode = ParseResult.encodeEither(json)
  const decode = ParseResult.decodeUnknownEither(json)
  const queue = options.queue ?? defaultQueue
  const priority = options.priority ?? 0

  const concurrency = options.concurrency
  const limit = concurrency?.limit ?? 1
  const durationMs = Duration.toMillis(concurrency?.duration ?? defaultConcurrencyControlPeriod)

  const job = (payload: A, enqueueOptions: EnqueueOptions = {}): JobRequest => ({
    taskName: name,
    queue: enqueueOptions.queue ?? queue,
    priority: enqueueOptions.priority ?? priority,
    options: enqueueOptions,
    concurrency: concurrency === undefined ? undefined : {
      key: `${concurrency.group ?? name}/${typeof concurrency.key === "string" ? concurrency.key : concurrency.key(payload)}`,
      limit,
      durationMs
    },
    encodePayload: () =>
      Either.mapLeft(
        encode(payload),
        (e) => new PayloadEncodeError({ taskName: name, message: ParseResult.TreeFormatter.formatIssueSync(e) })
      )
  })

  return {
    name,
    payload: options.payload,
    queue,
    priority,
    job,
    enqueue: (payload, enqueueOptions) => Effect.flatMap(JobClient, (client) => client.enqueue(job(payload, enqueueOptions))),
    toLayer: <X, E, R>(handler: (payload: A) => Effect.Effect<X, E, R>) =>
      Layer.scopedDiscard(Effect.gen(function*() {
        const registry = yield* TaskRegistry
        const context = yield* Effect.context<Exclude<R, CurrentJob>>()
        const run = (encoded: string, current: JobDescription) =>
          Either.match(decode(encoded), {
            onLeft: (e) =>
              Effect.fail(new PayloadDecodeError({ taskName: name, message: ParseResult.TreeFormatter.formatIssueSync(e) })),
            onRight: (payload) =>
              // The layer captured everything but CurrentJob, which the worker supplies per job. Each job runs on
              // a fiber of its own: its context is set once, not restored afterwards (this is the hot path).
              Effect.zipRight(
                FiberRef.update(FiberRef.currentContext, (own) => Context.merge(own, Context.add(context, CurrentJob, current))),
                Effect.suspend(() => handler(payload)) as Effect.Effect<X, E>
              )
          })
        yield* Effect.acquireRelease(
          Effect.sync(() => registry.register({ taskName: name, run })),
          () => Effect.sync(() => registry.unregister(name))
        )
      }))
  }
}
