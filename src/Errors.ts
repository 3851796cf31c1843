/**
 * Errors users can match on. Those a job can fail with are stored with the failed execution and come back,
 * tag and all, from `JobClient.find`.
 */
import { Schema } from "effect"

/** A job was asked for with a queue, priority or schedule it cannot have; nothing was written. */
export class InvalidJobOptionsError extends Schema.TaggedError<InvalidJobOptionsError>()("InvalidJobOptionsError", {
  taskName: Schema.String,
  option: Schema.String,
  message: Schema.String
}) {}

/**
 * `Task.make` was given a name, default queue, default priority or concurrency key the task cannot have. Thrown
 * when the task is defined (a programming error, found when the module loads), not when a job is enqueued.
 */
export class InvalidTaskError extends Schema.TaggedError<InvalidTaskError>()("InvalidTaskError", {
  taskName: Schema.String,
  option: Schema.String,
  message: Schema.String
}) {}

/** The payload did not encode with the task's schema at enqueue; nothing was written. */
export class PayloadEncodeError extends Schema.TaggedError<PayloadEncodeError>()("PayloadEncodeError", {
  taskName: Schema.String,
  message: Schema.String
}) {}

/** The handler's result did not encode with the task's `success` schema; the attempt failed. */
export class ResultEncodeError extends Schema.TaggedError<ResultEncodeError>()("ResultEncodeError", {
  taskName: Schema.String,
  message: Schema.String
}) {}

/** A claimed job names a task no handler is registered for in this process. */
export class UnknownTaskError extends Schema.TaggedError<UnknownTaskError>()("UnknownTaskError", {
  taskName: Schema.String,
  message: Schema.String
}) {}

/** A claimed job's stored payload no longer decodes with the task's schema. */
export class PayloadDecodeError extends Schema.TaggedError<PayloadDecodeError>()("PayloadDecodeError", {
  taskName: Schema.String,
  message: Schema.String
}) {}

export class JobNotFoundError extends Schema.TaggedError<JobNotFoundError>()("JobNotFoundError", {
  jobId: Schema.Number,
  message: Schema.String
}) {}

/** A job that a worker is running right now cannot be discarded or retried. */
export class JobInProgressError extends Schema.TaggedError<JobInProgressError>()("JobInProgressError", {
  jobId: Schema.Number,
  message: Schema.String
}) {}

/** Only failed jobs can be retried. */
export class JobNotFailedError extends Schema.TaggedError<JobNotFailedError>()("JobNotFailedError", {
  jobId: Schema.Number,
  state: Schema.String,
  message: Schema.String
}) {}

/** The process that had claimed the job stopped sending heartbeats and was pruned. */
export class ProcessPrunedError extends Schema.TaggedError<ProcessPrunedError>()("ProcessPrunedError", {
  processId: Schema.Number,
  message: Schema.String
}) {}

/** The process that had claimed the job exited without being told to (killed, out of memory). */
export class ProcessExitError extends Schema.TaggedError<ProcessExitError>()("ProcessExitError", {
  processId: Schema.Number,
  exitCode: Schema.NullOr(Schema.Number),
  signal: Schema.NullOr(Schema.String),
  message: Schema.String
}) {}

/** The job's claim belonged to a process that no longer has a row (deregistered or deleted without releasing it). */
export class ProcessMissingError extends Schema.TaggedError<ProcessMissingError>()("ProcessMissingError", {
  processId: Schema.NullOr(Schema.Number),
  message: Schema.String
}) {}

/** Another supervisor on this host holds the pidfile. */
export class SupervisorAlreadyRunningError extends Schema.TaggedError<SupervisorAlreadyRunningError>()(
  "SupervisorAlreadyRunningError",
  { pid: Schema.Number, pidfile: Schema.String, message: Schema.String }
) {}

/** A recurring task that cannot be scheduled: a bad schedule or time zone, a duplicate key, a bad payload. */
export class InvalidRecurringTaskError extends Schema.TaggedError<InvalidRecurringTaskError>()("InvalidRecurringTaskError", {
  key: Schema.String,
  message: Schema.String
}) {}

export class UnsupportedDatabaseError extends Schema.TaggedError<UnsupportedDatabaseError>()(
  "UnsupportedDatabaseError",
  { message: Schema.String }
) {}

export class InvalidConfigError extends Schema.TaggedError<InvalidConfigError>()("InvalidConfigError", {
  message: Schema.String
}) {}

export class JobNotScheduledError extends Schema.TaggedError<JobNotScheduledError>()("JobNotScheduledError", {
  jobId: Schema.Number,
  state: Schema.String,
  message: Schema.String
}) {}

export class InvalidQueueNameError extends Schema.TaggedError<InvalidQueueNameError>()("InvalidQueueNameError", {
  queue: Schema.String,
  message: Schema.String
}) {}

export class RecurringTaskNotFoundError extends Schema.TaggedError<RecurringTaskNotFoundError>()(
  "RecurringTaskNotFoundError",
  { key: Schema.String, message: Schema.String }
) {}

/** The command line cannot use the database as the command needs it; the message says why, in one line. */
export class DatabaseUnavailableError extends Schema.TaggedError<DatabaseUnavailableError>()("DatabaseUnavailableError", {
  message: Schema.String
}) {}

/** `SteadyQueue.fromUrl` (or the CLI) needs a database driver the app has not installed. */
export class MissingDriverError extends Schema.TaggedError<MissingDriverError>()("MissingDriverError", {
  packageName: Schema.String,
  message: Schema.String
}) {}

/** The handler ran longer than its task's `timeout`: its fiber was interrupted (its finalizers ran). */
export class JobTimeoutError extends Schema.TaggedError<JobTimeoutError>()("JobTimeoutError", {
  taskName: Schema.String,
  timeoutMs: Schema.Number,
  message: Schema.String
}) {}

/** The job was not started within its task's `expire` of its scheduled time, so it was not run (nor retried). */
export class JobExpiredError extends Schema.TaggedError<JobExpiredError>()("JobExpiredError", {
  taskName: Schema.String,
  expireMs: Schema.Number,
  message: Schema.String
}) {}

/**
 * What `JobHandle.await` fails with for a job that failed with something its task's `error` schema does not
 * declare (a defect, a timeout, an expiry, a lost process, or a task without an `error` schema): the stored tag,
 * message and stack.
 */
export class JobFailedError extends Schema.TaggedError<JobFailedError>()("JobFailedError", {
  jobId: Schema.Number,
  tag: Schema.String,
  message: Schema.String,
  stack: Schema.NullOr(Schema.String)
}) {}

/** The awaited job was cancelled. */
export class JobCancelledError extends Schema.TaggedError<JobCancelledError>()("JobCancelledError", {
  jobId: Schema.Number,
  message: Schema.String
}) {}

/** `JobHandle.await` gave up: the job had not ended within the timeout (it goes on). */
export class JobAwaitTimeoutError extends Schema.TaggedError<JobAwaitTimeoutError>()("JobAwaitTimeoutError", {
  jobId: Schema.Number,
  timeoutMs: Schema.Number,
  message: Schema.String
}) {}

/**
 * The database could not be read or written (connection lost, statement failed, a row of an unexpected shape).
 * `cause` holds the driver's error. Nothing was committed by the operation that failed.
 */
export class PersistenceError extends Schema.TaggedError<PersistenceError>()("PersistenceError", {
  message: Schema.String,
  cause: Schema.Defect
}) {}

/**
 * An operator's action refused as asked: the job, queue or recurring task is not in a state that allows it, or
 * does not exist. The command line and the dashboard show the message as it is and go on.
 */
export type OperatorError =
  | JobNotFoundError
  | JobNotFailedError
  | JobInProgressError
  | JobNotScheduledError
  | InvalidQueueNameError
  | RecurringTaskNotFoundError
  | InvalidRecurringTaskError

/** Every tag of the union, once: a member added to or removed from `OperatorError` fails to compile here. */
const operatorErrorTags: Record<OperatorError["_tag"], true> = {
  JobNotFoundError: true,
  JobNotFailedError: true,
  JobInProgressError: true,
  JobNotScheduledError: true,
  InvalidQueueNameError: true,
  RecurringTaskNotFoundError: true,
  InvalidRecurringTaskError: true
}

export const isOperatorError = (error: unknown): error is OperatorError =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string" &&
  Object.hasOwn(operatorErrorTags, error._tag)
