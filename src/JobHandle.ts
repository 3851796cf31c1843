/**
 * A job's handle: its status, its details, its result (awaited from any process) and its cancellation. Made by
 * `Task.enqueue` and `JobClient.enqueueAll`, or rebuilt from an id anywhere with `Task.handle(id)`.
 */
import { type Duration, Effect, Either, type Option, ParseResult } from "effect"
import type { EnqueuedJob, JobInfo, JobOutcome, JobStatus } from "./Domain.js"
import {
  JobCancelledError,
  type JobAwaitTimeoutError,
  JobFailedError,
  type JobNotFoundError,
  type PersistenceError
} from "./Errors.js"
import type { JobError } from "./JobError.js"

export type { JobStatus, JobOutcome } from "./Domain.js"

export interface AwaitOptions {
  /** Give up after this long with `JobAwaitTimeoutError` (the job goes on); wait as long as it takes when omitted. */
  readonly timeout?: Duration.DurationInput
}

export interface CancelOptions {
  /** How long to wait for a running job to end cancelled (default 5 seconds). */
  readonly wait?: Duration.DurationInput
}

/** Why `await` did not return a result. */
export type AwaitError<E> =
  | E
  | JobFailedError
  | JobCancelledError
  | JobAwaitTimeoutError
  | JobNotFoundError
  | PersistenceError

export interface JobHandle<A, E> {
  readonly id: number
  readonly taskName: string
  /** Where the job is now; "missing" once it is deleted (or if it never existed). */
  readonly status: Effect.Effect<JobStatus, PersistenceError>
  /** The job in full: state, attempts with their errors and times, result; none once it is deleted. */
  readonly info: Effect.Effect<Option.Option<JobInfo>, PersistenceError>
  /**
   * Waits until the job has ended: its result, decoded with the task's `success` schema; a failure its `error`
   * schema declares, decoded; any other failure as `JobFailedError`; a cancellation as `JobCancelledError`.
   */
  readonly await: (options?: AwaitOptions) => Effect.Effect<A, AwaitError<E>>
  /**
   * Cancels the job: one not started yet is removed at once; a running one is interrupted by its worker (its
   * finalizers run, its slot is given back) and ends cancelled, never retried. True if the job ended cancelled
   * within `wait` (or had been cancelled already); false if it had ended otherwise (succeeded, failed), is
   * missing, or is still running when `wait` is over.
   */
  readonly cancel: (options?: CancelOptions) => Effect.Effect<boolean, PersistenceError>
}

/** A handle of a job just enqueued, with what the enqueue wrote. */
export interface EnqueuedHandle<A, E> extends JobHandle<A, E>, EnqueuedJob {}

/** How a task's results and declared failures are read back. */
export interface ResultCodecs<A, E> {
  readonly decodeResult: (encoded: string | null) => Either.Either<A, ParseResult.ParseError>
  /** The declared failure an error stored, if it is one. */
  readonly decodeError: (error: JobError) => Option.Option<E>
}

/** The operations a handle runs, on the job client of the process that made it. */
export interface HandleOperations {
  readonly status: (id: number) => Effect.Effect<JobStatus, PersistenceError>
  readonly find: (id: number) => Effect.Effect<Option.Option<JobInfo>, PersistenceError>
  readonly awaitOutcome: (
    id: number,
    options?: AwaitOptions
  ) => Effect.Effect<JobOutcome, JobAwaitTimeoutError | JobNotFoundError | PersistenceError>
  readonly cancel: (id: number, options?: CancelOptions) => Effect.Effect<boolean, PersistenceError>
}

const failedWith = (id: number, error: JobError) =>
  new JobFailedError({ jobId: id, tag: error.tag, message: error.message, stack: error.stack })

/** Turns a stored outcome into the handle's answer. */
export const decodeOutcome = <A, E>(id: number, codecs: ResultCodecs<A, E>, outcome: JobOutcome): Effect.Effect<A, E | JobFailedError | JobCancelledError> => {
  switch (outcome._tag) {
    case "Succeeded":
      return Either.match(codecs.decodeResult(outcome.result), {
        onLeft: (e) =>
          Effect.fail(new JobFailedError({
            jobId: id,
            tag: "ResultDecodeError",
            message: `the job's stored result does not decode with the task's success schema: ${ParseResult.TreeFormatter.formatErrorSync(e)}`,
            stack: null
          })),
        onRight: Effect.succeed
      })
    case "Failed": {
      const declared = codecs.decodeError(outcome.error)
      return declared._tag === "Some" ? Effect.fail(declared.value) : Effect.fail(failedWith(id, outcome.error))
    }
    case "Cancelled":
      return Effect.fail(new JobCancelledError({ jobId: id, message: `job ${id} was cancelled` }))
  }
}

// A class, so that the handles of a bulk enqueue share their methods instead of each carrying closures.
class Handle<A, E> implements JobHandle<A, E> {
  constructor(
    readonly id: number,
    readonly taskName: string,
    private readonly codecs: ResultCodecs<A, E>,
    private readonly operations: HandleOperations
  ) {}
  get status() {
    return this.operations.status(this.id)
  }
  get info() {
    return this.operations.find(this.id)
  }
  await(options?: AwaitOptions) {
    return Effect.flatMap(this.operations.awaitOutcome(this.id, options), (outcome) => decodeOutcome(this.id, this.codecs, outcome))
  }
  cancel(options?: CancelOptions) {
    return this.operations.cancel(this.id, options)
  }
}

class Enqueued<A, E> extends Handle<A, E> implements EnqueuedHandle<A, E> {
  readonly publicId: string
  readonly queueName: string
  readonly priority: number
  readonly scheduledAt: Date
  constructor(job: EnqueuedJob, codecs: ResultCodecs<A, E>, operations: HandleOperations) {
    super(job.id, job.taskName, codecs, operations)
    this.publicId = job.publicId
    this.queueName = job.queueName
    this.priority = job.priority
    this.scheduledAt = job.scheduledAt
  }
}

export const make = <A, E>(id: number, taskName: string, codecs: ResultCodecs<A, E>, operations: HandleOperations): JobHandle<A, E> =>
  new Handle(id, taskName, codecs, operations)

/** The handle of a job just enqueued. */
export const enqueued = <A, E>(job: EnqueuedJob, codecs: ResultCodecs<A, E>, operations: HandleOperations): EnqueuedHandle<A, E> =>
  new Enqueued(job, codecs, operations)
