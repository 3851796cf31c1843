/**
 * Configuration: a Schema-validated value with the seeds' defaults, from code (`make`) or from the environment
 * (`fromEnv`). Durations are given as a `Duration`, milliseconds, or text such as "5 seconds".
 */
import { Config, Duration, Effect, Either, Option, ParseResult, Schema } from "effect"
import { InvalidConfigError } from "./Errors.js"
import * as RetryPolicies from "./internal/RetryPolicy.js"
import type { RetryPolicy } from "./TaskRegistry.js"

/** The seeds' defaults, as named constants. */
export const defaults = {
  workerQueues: ["*"] as ReadonlyArray<string>,
  workerThreads: 3,
  workerProcesses: 1,
  workerPollingInterval: Duration.millis(100),
  dispatcherPollingInterval: Duration.seconds(1),
  dispatcherBatchSize: 500,
  concurrencyMaintenance: true,
  concurrencyMaintenanceInterval: Duration.seconds(600),
  schedulerPollingInterval: Duration.seconds(5),
  processHeartbeatInterval: Duration.seconds(60),
  processAliveThreshold: Duration.minutes(5),
  supervisorPidfile: "tmp/pids/steady_queue_supervisor.pid" as string | null,
  mode: "async" as Mode,
  shutdownTimeout: Duration.seconds(5),
  preserveFinishedJobs: true,
  clearFinishedJobsAfter: Duration.days(1)
} as const

export type Mode = "async" | "fork"

const isNegativeOrNaN = (input: unknown) =>
  typeof input === "number" ? !(input >= 0) : typeof input === "string" && /^\s*-/.test(input)

const DurationValue = Schema.transformOrFail(
  Schema.Union(Schema.DurationFromSelf, Schema.Number, Schema.String),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (input, _, ast) => {
      const refused = ParseResult.fail(new ParseResult.Type(ast, input, "a duration must be finite and not negative"))
      // Duration clamps a negative or NaN input to zero (for a polling interval, a busy loop): refuse it first.
      if (isNegativeOrNaN(input)) return refused
      return Option.match(Duration.decodeUnknown(input), {
        onNone: () => ParseResult.fail(new ParseResult.Type(ast, input, `not a duration: ${String(input)}`)),
        onSome: (d) => (Duration.isFinite(d) ? ParseResult.succeed(d) : refused)
      })
    },
    encode: (d) => ParseResult.succeed(d)
  }
)

const PositiveInt = Schema.Int.pipe(Schema.positive())
const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative())
const withDefault = <S extends Schema.Schema.Any>(schema: S, value: () => Schema.Schema.Type<S>) =>
  Schema.optionalWith(schema, { default: value })

export const WorkerConfig = Schema.Struct({
  /** Queue names in polling order: exact names, `prefix*`, or `*` for all. */
  queues: withDefault(Schema.Array(Schema.String).pipe(Schema.minItems(1)), () => defaults.workerQueues),
  /** Jobs this worker runs at once, on as many long-lived fibers (its threads). */
  threads: withDefault(PositiveInt, () => defaults.workerThreads),
  /**
   * Jobs claimed ahead, beyond the free threads, to start as threads come free (default `"auto"`: as many as the
   * worker finished in the last tenth of a second, at most 500); 0 claims only for free threads.
   */
  prefetch: Schema.optional(Schema.Union(NonNegativeInt, Schema.Literal("auto"))),
  /** Worker processes with these settings (fork mode). */
  processes: withDefault(PositiveInt, () => defaults.workerProcesses),
  /** Wait between polls when there was nothing to claim. */
  pollingInterval: withDefault(DurationValue, () => defaults.workerPollingInterval)
})
export type WorkerConfig = typeof WorkerConfig.Type

export const DispatcherConfig = Schema.Struct({
  pollingInterval: withDefault(DurationValue, () => defaults.dispatcherPollingInterval),
  /** Scheduled jobs moved to ready per statement. */
  batchSize: withDefault(PositiveInt, () => defaults.dispatcherBatchSize),
  /** Expire semaphores and release blocked jobs whose wait expired. */
  concurrencyMaintenance: withDefault(Schema.Boolean, () => defaults.concurrencyMaintenance),
  concurrencyMaintenanceInterval: withDefault(DurationValue, () => defaults.concurrencyMaintenanceInterval)
})
export type DispatcherConfig = typeof DispatcherConfig.Type

export const SchedulerConfig = Schema.Struct({
  /** How often dynamic recurring tasks are re-read. */
  pollingInterval: withDefault(DurationValue, () => defaults.schedulerPollingInterval)
})
export type SchedulerConfig = typeof SchedulerConfig.Type

/** The retry policy of tasks that declare none: `maxAttempts` runs in all, exponential backoff between them. */
export const RetryConfig = Schema.Struct({
  maxAttempts: PositiveInt,
  /** The wait before the first retry; each next one is `factor` times longer. */
  initialDelay: withDefault(DurationValue, () => Duration.seconds(1)),
  factor: withDefault(Schema.Number.pipe(Schema.greaterThanOrEqualTo(1)), () => 2),
  /** No wait longer than this. */
  maxDelay: Schema.optional(DurationValue)
})
export type RetryConfig = typeof RetryConfig.Type

export const QueueConfigSchema = Schema.Struct({
  workers: withDefault(Schema.Array(WorkerConfig), () => [Schema.decodeSync(WorkerConfig)({})]),
  dispatchers: withDefault(Schema.Array(DispatcherConfig), () => [Schema.decodeSync(DispatcherConfig)({})]),
  /** The scheduler of recurring tasks; null runs none. */
  scheduler: withDefault(Schema.NullOr(SchedulerConfig), () => Schema.decodeSync(SchedulerConfig)({})),
  /** "async": workers and dispatchers as fibers of this process; "fork": one child process each. */
  mode: withDefault(Schema.Literal("async", "fork"), () => defaults.mode),
  processHeartbeatInterval: withDefault(DurationValue, () => defaults.processHeartbeatInterval),
  /** A process whose last heartbeat is older than this is pruned, and its claimed jobs failed. */
  processAliveThreshold: withDefault(DurationValue, () => defaults.processAliveThreshold),
  /** Refuses a second supervisor on this host while the pid in it is alive; null for none. */
  supervisorPidfile: withDefault(Schema.NullOr(Schema.String), () => defaults.supervisorPidfile),
  shutdownTimeout: withDefault(DurationValue, () => defaults.shutdownTimeout),
  preserveFinishedJobs: withDefault(Schema.Boolean, () => defaults.preserveFinishedJobs),
  clearFinishedJobsAfter: withDefault(DurationValue, () => defaults.clearFinishedJobsAfter),
  /** The retry policy of tasks without one of their own; null (the default) retries nothing automatically. */
  retry: withDefault(Schema.NullOr(RetryConfig), () => null)
})

export type QueueConfig = typeof QueueConfigSchema.Type

/** The configuration's default retry policy, for workers and for failing the jobs of lost processes. */
export const retryPolicy = (config: QueueConfig): RetryPolicy =>
  config.retry === null ? RetryPolicies.never : RetryPolicies.exponential(config.retry)
/** What users write: every field optional, durations in any accepted form. */
export type QueueConfigInput = typeof QueueConfigSchema.Encoded
export type WorkerConfigInput = typeof WorkerConfig.Encoded
export type DispatcherConfigInput = typeof DispatcherConfig.Encoded

const decodeFrom = (source: string, input: unknown): Effect.Effect<QueueConfig, InvalidConfigError> =>
  Either.match(Schema.decodeUnknownEither(QueueConfigSchema)(input), {
    onLeft: (e) =>
      Effect.fail(
        new InvalidConfigError({ message: `invalid steady-queue configuration${source}: ${ParseResult.TreeFormatter.formatErrorSync(e)}` })
      ),
    onRight: (config) =>
      // A supervisor with nothing to run would start, register and sit idle: say so instead.
      config.workers.length === 0 && config.dispatchers.length === 0 && config.scheduler === null
        ? Effect.fail(
          new InvalidConfigError({
            message: `invalid steady-queue configuration${source}: no workers, no dispatchers and no scheduler ` +
              "(the supervisor would run nothing); configure at least one"
          })
        )
        : Effect.succeed(config)
  })

/** Validates a configuration, filling in defaults. */
export const make = (input: QueueConfigInput = {}): Effect.Effect<QueueConfig, InvalidConfigError> => decodeFrom("", input)

/** Same as `make`, throwing on invalid input: for module-level constants. */
export const unsafeMake = (input: QueueConfigInput = {}): QueueConfig => Effect.runSync(make(input))

const envSettings = {
  mode: "STEADY_QUEUE_MODE",
  processAliveThreshold: "STEADY_QUEUE_PROCESS_ALIVE_THRESHOLD",
  supervisorPidfile: "STEADY_QUEUE_SUPERVISOR_PIDFILE",
  processHeartbeatInterval: "STEADY_QUEUE_PROCESS_HEARTBEAT_INTERVAL",
  shutdownTimeout: "STEADY_QUEUE_SHUTDOWN_TIMEOUT",
  preserveFinishedJobs: "STEADY_QUEUE_PRESERVE_FINISHED_JOBS",
  clearFinishedJobsAfter: "STEADY_QUEUE_CLEAR_FINISHED_JOBS_AFTER"
} as const

/**
 * Reads `STEADY_QUEUE_CONFIG` (the whole configuration as JSON) and then the single settings
 * `STEADY_QUEUE_SHUTDOWN_TIMEOUT`, `STEADY_QUEUE_PRESERVE_FINISHED_JOBS`, ... which override it; `base` is
 * what the environment does not set.
 */
export const fromEnv = (base: QueueConfigInput = {}) =>
  Effect.gen(function*() {
    const json = yield* Config.option(Config.string("STEADY_QUEUE_CONFIG"))
    let input: Record<string, unknown> = { ...base }
    if (Option.isSome(json)) {
      const parsed = yield* Effect.try({
        try: () => JSON.parse(json.value) as unknown,
        catch: () => new InvalidConfigError({ message: "STEADY_QUEUE_CONFIG is not valid JSON" })
      })
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        return yield* new InvalidConfigError({ message: "STEADY_QUEUE_CONFIG must be a JSON object" })
      }
      input = { ...input, ...parsed }
    }
    for (const [key, name] of Object.entries(envSettings)) {
      const value = yield* Config.option(Config.string(name))
      if (Option.isSome(value)) input[key] = envValue(key, value.value)
    }
    return yield* decodeFrom(" from the environment", input)
  })

const envValue = (key: string, raw: string): unknown =>
  key === "preserveFinishedJobs"
    ? raw === "true" || raw === "1"
      ? true
      : raw === "false" || raw === "0"
      ? false
      : raw
    : key === "supervisorPidfile"
    ? raw === "" || raw === "none" ? null : raw
    : /^\d+(\.\d+)?$/.test(raw)
    ? Number(raw)
    : raw
