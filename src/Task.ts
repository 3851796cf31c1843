/**
 * Tasks: a name, a payload schema and defaults. Producers import the task to enqueue it; the worker process
 * registers a handler for it with `toLayer`.
 */
import { Context, Duration, Effect, Either, FiberRef, Layer, Option, ParseResult, Schedule, Schema } from "effect"
import { CurrentJob, type JobDescription } from "./CurrentJob.js"
import {
  InvalidTaskError,
  type JobFailedError,
  type JobTimeoutError,
  PayloadDecodeError,
  PayloadEncodeError,
  type ProcessExitError,
  type ProcessMissingError,
  type ProcessPrunedError,
  ResultEncodeError
} from "./Errors.js"
import { type EnqueueError, type EnqueueOptions, JobClient, type JobRequest } from "./JobClient.js"
import * as Handle from "./JobHandle.js"
import type { EnqueuedHandle, JobHandle, ResultCodecs } from "./JobHandle.js"
import { type RetryPolicy, TaskRegistry } from "./TaskRegistry.js"
import { nameProblem, queueNameProblem } from "./internal/names.js"
import { maxPriority, minPriority } from "./internal/prepare.js"

export interface TaskOptions<A, I, S, SI, E, EI> {
  /** The payload schema; it must encode to something JSON can hold and must not need services. */
  readonly payload: Schema.Schema<A, I>
  /**
   * The handler's result, stored with the job (encoded as JSON) and decoded by `JobHandle.await`. Without it the
   * handler's result is dropped and `await` returns `void`.
   */
  readonly success?: Schema.Schema<S, SI>
  /** Failures the handler can fail with, stored and decoded back as themselves by `JobHandle.await`. */
  readonly error?: Schema.Schema<E, EI>
  /** Retry a failed attempt; without it, the configuration's default policy applies (by default, none). */
  readonly retry?: RetryOptions<E>
  /** Interrupt the handler after this long (its finalizers run) and fail the attempt with `JobTimeoutError`. */
  readonly timeout?: Duration.DurationInput
  /** A job not started within this long of its scheduled time is not run: it fails with `JobExpiredError`. */
  readonly expire?: Duration.DurationInput
  /** Default queue for this task's jobs; "default" when omitted. */
  readonly queue?: string
  /** Default priority, -100..100, larger runs first; 0 when omitted. */
  readonly priority?: number
  /** At most `limit` jobs with the same key run at once (see the README's concurrency controls). */
  readonly concurrency?: ConcurrencyOptions<A>
}

/** What a handler must succeed with: anything without a `success` schema, else the schema's type. */
export type SuccessOf<S> = [S] extends [void] ? unknown : S

/**
 * What a retry policy's `while` and `schedule` see of a failed attempt: a failure the task's `error` schema
 * declares as itself; a timeout, or the loss of the process that ran it (pruned, exited, or gone from the
 * process table), as that error; anything else (a defect,
 * an undeclared failure) as `JobFailedError`.
 */
export type AttemptError<E> =
  | E
  | JobTimeoutError
  | ProcessPrunedError
  | ProcessExitError
  | ProcessMissingError
  | JobFailedError

export interface RetryOptions<E> {
  /** Runs in all, the first included (so 1 means no retry). */
  readonly maxAttempts: number
  /**
   * When the next attempt runs: the delay the schedule gives at its n-th step after the n-th failed attempt
   * (computed from the attempt number, so a restart does not change it). Default `Schedule.exponential("1 second")`.
   * A schedule that is done stops the retries.
   */
  readonly schedule?: Schedule.Schedule<unknown, AttemptError<E>>
  /** Retry only errors this accepts (default all). */
  readonly while?: (error: AttemptError<E>) => boolean
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

export interface Task<A, I = A, S = void, E = never> {
  readonly name: string
  readonly payload: Schema.Schema<A, I>
  readonly queue: string
  readonly priority: number
  /** A job request for `JobClient.enqueueAll`. */
  readonly job: (payload: A, options?: EnqueueOptions) => JobRequest<S, E>
  readonly enqueue: (payload: A, options?: EnqueueOptions) => Effect.Effect<EnqueuedHandle<S, E>, EnqueueError, JobClient>
  /** The handle of a job of this task, from its id (the job need not exist: its status is then "missing"). */
  readonly handle: (id: number) => Effect.Effect<JobHandle<S, E>, never, JobClient>
  /**
   * Registers the handler for this task. The handler may use `CurrentJob`; its other requirements become the
   * layer's. A failure or defect of the handler fails the attempt with that error (and retries it, if the task's
   * retry policy says so).
   */
  readonly toLayer: <X extends SuccessOf<S>, F, R>(
    handler: (payload: A) => Effect.Effect<X, F, R>
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

const positiveMs = (name: string, option: string, input: Duration.DurationInput | undefined) => {
  if (input === undefined) return undefined
  const ms = Option.match(Duration.decodeUnknown(input), { onNone: () => Number.NaN, onSome: Duration.toMillis })
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new InvalidTaskError({
      taskName: String(name),
      option,
      message: `task ${JSON.stringify(name)}: ${option} must be a positive, finite duration, got ${String(input)}`
    })
  }
  return ms
}

const retryPolicy = <E>(name: string, retry: RetryOptions<E> | undefined): RetryPolicy | undefined => {
  if (retry === undefined) return undefined
  if (!Number.isInteger(retry.maxAttempts) || retry.maxAttempts < 1) {
    throw new InvalidTaskError({
      taskName: String(name),
      option: "retry",
      message: `task ${JSON.stringify(name)}: retry.maxAttempts must be a whole number of at least 1, got ${retry.maxAttempts}`
    })
  }
  const accepts = retry.while
  return {
    maxAttempts: retry.maxAttempts,
    schedule: (retry.schedule ?? Schedule.exponential("1 second")) as Schedule.Schedule<unknown, unknown>,
    // Only errors of the attempt reach it (see `AttemptError`); the worker builds them.
    while: accepts === undefined ? () => true : (error) => accepts(error as AttemptError<E>)
  }
}

/** Encoding and decoding a task's results and declared failures as JSON text. */
const codecsOf = <S, SI, E, EI>(name: string, success: Schema.Schema<S, SI> | undefined, error: Schema.Schema<E, EI> | undefined) => {
  const successJson = success === undefined ? undefined : Schema.parseJson(success)
  const encodeSuccess = successJson === undefined ? undefined : Schema.encodeEither(successJson)
  const decodeSuccess = successJson === undefined ? undefined : Schema.decodeUnknownEither(successJson)
  const errorJson = error === undefined ? undefined : Schema.parseJson(error)
  const isDeclared = error === undefined ? undefined : Schema.is(error)
  const encodeFailure = errorJson === undefined ? undefined : Schema.encodeEither(errorJson)
  const decodeFailure = errorJson === undefined ? undefined : Schema.decodeUnknownOption(errorJson)
  const codecs: ResultCodecs<S, E> = {
    decodeResult: (encoded) =>
      decodeSuccess === undefined ? Either.right(undefined as S) : decodeSuccess(encoded ?? "null"),
    decodeError: (stored) =>
      decodeFailure === undefined || stored.value === null ? Option.none() : decodeFailure(stored.value)
  }
  const encodeResult = (value: unknown): Effect.Effect<string | null, ResultEncodeError> =>
    encodeSuccess === undefined ? Effect.succeed(null) : Either.match(encodeSuccess(value as S), {
      onLeft: (e) => Effect.fail(new ResultEncodeError({ taskName: name, message: ParseResult.TreeFormatter.formatErrorSync(e) })),
      onRight: Effect.succeed
    })
  const encodeError = (failure: unknown): string | undefined =>
    isDeclared === undefined || encodeFailure === undefined || !isDeclared(failure)
      ? undefined
      : Either.getOrUndefined(encodeFailure(failure))
  return { codecs, encodeResult, encodeError }
}

/**
 * Defines a task. Throws `InvalidTaskError` if the name, the default queue or priority, a fixed concurrency key,
 * the retry policy, the timeout or the expiry breaks the rules, so that a bad definition fails when its module loads.
 */
export const make = <A, I, S = void, SI = S, E = never, EI = E>(
  name: string,
  options: TaskOptions<A, I, S, SI, E, EI>
): Task<A, I, S, E> => {
  checkDefinition(name, options.queue ?? defaultQueue, options.priority ?? 0, options.concurrency)
  const retry = retryPolicy(name, options.retry)
  const timeoutMs = positiveMs(name, "timeout", options.timeout)
  const expireMs = positiveMs(name, "expire", options.expire)
  const json = Schema.parseJson(options.payload)
  const encode = ParseResult.encodeEither(json)
  const decode = ParseResult.decodeUnknownEither(json)
  const { codecs, encodeError, encodeResult } = codecsOf(name, options.success, options.error)
  const queue = options.queue ?? defaultQueue
  const priority = options.priority ?? 0

  const concurrency = options.concurrency
  const limit = concurrency?.limit ?? 1
  const durationMs = Duration.toMillis(concurrency?.duration ?? defaultConcurrencyControlPeriod)

  const job = (payload: A, enqueueOptions: EnqueueOptions = {}): JobRequest<S, E> => ({
    taskName: name,
    queue: enqueueOptions.queue ?? queue,
    priority: enqueueOptions.priority ?? priority,
    options: enqueueOptions,
    concurrency: concurrency === undefined ? undefined : {
      key: `${concurrency.group ?? name}/${typeof concurrency.key === "string" ? concurrency.key : concurrency.key(payload)}`,
      limit,
      durationMs
    },
    timeoutMs: timeoutMs ?? null,
    maxAttempts: retry?.maxAttempts ?? null,
    codecs,
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
    handle: (id) => Effect.map(JobClient, (client) => Handle.make(id, name, codecs, client)),
    toLayer: <X extends SuccessOf<S>, F, R>(handler: (payload: A) => Effect.Effect<X, F, R>) =>
      Layer.scopedDiscard(Effect.gen(function*() {
        const registry = yield* TaskRegistry
        const context = yield* Effect.context<Exclude<R, CurrentJob>>()
        // The worker's job fibers all start with the same context: merged with the layer's once, not per job.
        let lastOwn: Context.Context<never> | undefined
        let merged: Context.Context<never> = context as Context.Context<never>
        const withJob = (own: Context.Context<never>, current: JobDescription) => {
          if (own !== lastOwn) {
            lastOwn = own
            merged = Context.merge(own, context as Context.Context<never>)
          }
          return Context.add(merged, CurrentJob, current)
        }
        const run = (encoded: string, current: JobDescription): Effect.Effect<string | null, unknown> =>
          Either.match(decode(encoded), {
            onLeft: (e) =>
              Effect.fail(new PayloadDecodeError({ taskName: name, message: ParseResult.TreeFormatter.formatIssueSync(e) })),
            onRight: (payload) =>
              // The layer captured everything but CurrentJob, which the worker supplies per job. Each job runs on a
              // thread that starts each job from the same fiber refs: its context is set once, not restored
              // afterwards (this is the hot path).
              Effect.zipRight(
                FiberRef.update(FiberRef.currentContext, (own) => withJob(own, current)),
                Effect.flatMap(Effect.suspend(() => handler(payload)) as Effect.Effect<X, F>, encodeResult)
              )
          })
        yield* Effect.acquireRelease(
          Effect.sync(() => registry.register({ taskName: name, run, encodeError, retry, timeoutMs, expireMs })),
          () => Effect.sync(() => registry.unregister(name))
        )
      }))
  }
}
