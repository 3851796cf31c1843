/**
 * Runs one claimed job: finds its task's handler (which decodes the payload and provides `CurrentJob`), runs it
 * and hands the outcome on, a success to the Finisher and a failure to the database. Each run is one
 * `steady-queue.run` span, and every log line within it, the handler's own included, carries the job's `jobId`,
 * `task`, `queue` and `attempt`.
 */
import { Cause, Clock, Duration, Effect, Exit, FiberRef, HashMap, Option, type Schedule } from "effect"
import type { JobDescription } from "../../Domain.js"
import {
  JobCancelledError,
  JobExpiredError,
  JobFailedError,
  JobTimeoutError,
  ProcessExitError,
  ProcessPrunedError,
  UnknownTaskError
} from "../../Errors.js"
import { JobError } from "../../JobError.js"
import { JobEvent, JobEvents } from "../../JobEvents.js"
import { type RegisteredHandler, TaskRegistry } from "../../TaskRegistry.js"
import type * as Finisher from "../Finisher.js"
import * as Liveness from "../Liveness.js"
import { writeRetry } from "../ProcessRow.js"
import { Notices } from "../Notices.js"
import { Wakeup } from "../Wakeup.js"
import * as RetryPolicy from "../RetryPolicy.js"
import type { AttemptEnding } from "../Storage.js"
import type { JobRow } from "../sql/rows.js"
import { Store } from "../Store.js"
import * as Running from "./Running.js"
import type * as Threads from "./Threads.js"
import { hotSpan, tracing } from "../spans.js"

/**
 * Runs one job, started at `startedAt`, on a thread (Threads.ts), whose log annotations it sets for the job: run
 * uninterruptibly, with `restore` making the handler interruptible.
 */
export type Perform = (row: JobRow, startedAt: number, restore: Threads.Restore) => Effect.Effect<void>

const describe = (row: JobRow): JobDescription => ({
  id: row.id,
  publicId: row.public_id,
  taskName: row.task_name,
  queueName: row.queue_name,
  priority: row.priority,
  attempts: row.attempts,
  attempt: row.attempts + 1,
  scheduledAt: new Date(row.scheduled_at),
  enqueuedAt: new Date(row.created_at),
  concurrency: row.concurrency_key === null ? null : { key: row.concurrency_key, limit: row.concurrency_limit ?? 1 }
})

/** What a job's log lines and its span carry; `attempt` counts from 1. */
const annotations = (job: JobDescription) => ({
  jobId: job.id,
  task: job.taskName,
  queue: job.queueName,
  attempt: job.attempt
})

// The run is the hot path: its annotations and span cost CPU time per job, so they are made as cheaply as can be.

/**
 * Sets the log annotations of the job's thread: one update, where `Effect.annotateLogs` would also restore them
 * when the run ends, which a thread does not need (it starts each job from its own fiber refs).
 * The task and queue are set on a map kept per pair (jobs of a pair share it); only the job's own two are added.
 * One per worker.
 */
const makeAnnotateFiber = () => {
  const byTaskAndQueue = new Map<string, { base: HashMap.HashMap<string, unknown>; with: HashMap.HashMap<string, unknown> }>()
  return (annotated: ReturnType<typeof annotations>) =>
    FiberRef.update(FiberRef.currentLogAnnotations, (current) => {
      const key = `${annotated.task}\u0000${annotated.queue}`
      let cached = byTaskAndQueue.get(key)
      if (cached === undefined || cached.base !== current) {
        cached = { base: current, with: HashMap.set(HashMap.set(current, "task", annotated.task), "queue", annotated.queue) }
        if (byTaskAndQueue.size > 1000) byTaskAndQueue.clear()
        byTaskAndQueue.set(key, cached)
      }
      return HashMap.set(HashMap.set(cached.with, "jobId", annotated.jobId), "attempt", annotated.attempt)
    })
}

const unknownTask = (taskName: string) =>
  Exit.fail(new UnknownTaskError({ taskName, message: `no handler is registered for task "${taskName}"` }))

/** Failures that no retry can mend: the job is not retried whatever its policy says. */
const neverRetried = new Set(["UnknownTaskError", "PayloadDecodeError", "ResultEncodeError", "JobExpiredError"])

export const make = (options: {
  readonly processId: number
  readonly running: Running.Running
  readonly finisher: Finisher.Finisher
  readonly liveness: Liveness.Liveness
  /** The policy of tasks that have none of their own. */
  readonly defaultRetry: RetryPolicy.RetryPolicy
  /** Interrupts the handlers of jobs whose claim is no longer this worker's. */
  readonly dropLost: Effect.Effect<void>
}): Effect.Effect<Perform, never, Store | Notices | Wakeup | TaskRegistry | JobEvents> =>
  Effect.gen(function*() {
    const store = yield* Store
    const registry = yield* TaskRegistry
    const events = yield* JobEvents
    const notices = yield* Notices
    const wakeup = yield* Wakeup
    const { liveness, processId, running } = options
    const annotateFiber = makeAnnotateFiber()
    // Read once: the worker's threads inherit the tracer of the fiber that starts the worker.
    const traced = yield* tracing

    // Retried until written, like successes; an ending that cannot be written stops the worker through its
    // liveness. Interrupted (shutdown past its timeout, or the worker stopping), the job is left to the release
    // or to pruning.
    const recordEnding = (job: JobDescription, ending: AttemptEnding, error: JobError, retry: Schedule.Schedule<unknown, unknown>) =>
      Effect.gen(function*() {
        yield* Liveness.outcomePending(liveness, job.id)
        const end = yield* Liveness.retryWrite(
          Effect.flatMap(Clock.currentTimeMillis, (now) => store.claimed.endAttempt(ending, processId, now)),
          {
            timeout: liveness.attemptTimeout,
            schedule: retry,
            merge: (a, late) => (a === "lost" ? late : a),
            onFailure: (e) => Effect.logWarning(`steady-queue: could not record the failure of job ${job.id}; retrying`, e)
          }
        )
        if (end === "lost") {
          yield* Effect.logWarning(`steady-queue: job ${job.id} was no longer claimed by this worker; its failure was not recorded`)
          return yield* options.dropLost
        }
        yield* notices.settled([job.id])
        // A slot given back may have released a blocked job, and a retry due now is ready: idle workers here look.
        if (job.concurrency !== null || end === "retrying") yield* wakeup.ring
        yield* events.publish(JobEvent.Finished({ job, processId, outcome: end, error }))
      }).pipe(
        Effect.ensuring(Liveness.settle(liveness, [job.id])),
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause) ? Effect.interrupt : Effect.logError(`steady-queue: could not record the failure of job ${job.id}`, cause)
        ),
        hotSpan("steady-queue.fail", { attributes: { jobId: job.id } })
      )

    /** When the job runs again after this failure, if it does. */
    const retryAt = (job: JobDescription, handler: RegisteredHandler | undefined, stored: JobError, failure: unknown, now: number) =>
      neverRetried.has(stored.tag)
        ? Effect.succeed(Option.none<number>())
        : RetryPolicy.nextRunAt(handler?.retry ?? options.defaultRetry, job.attempt, attemptError(job, stored, failure), now)

    const endWith = (job: JobDescription, startedAt: number, error: JobError, retry: Option.Option<number>, cancelled: boolean) =>
      recordEnding(job, {
        id: job.id,
        concurrency: job.concurrency,
        startedAt,
        queueName: job.queueName,
        priority: job.priority,
        attempt: job.attempt,
        error: JobError.encodeJson(error),
        retryAt: Option.getOrNull(retry),
        cancelled
      }, error, cancelled ? writeRetry : Liveness.untilWritten)

    /** The handler, bounded by the task's timeout: past it the handler's fiber is interrupted. */
    const bounded = (handler: RegisteredHandler, job: JobDescription, payload: string) => {
      const run = handler.run(payload, job)
      const timeoutMs = handler.timeoutMs
      return timeoutMs === undefined ? run : Effect.timeoutFail(run, {
        duration: Duration.millis(timeoutMs),
        onTimeout: () =>
          new JobTimeoutError({ taskName: job.taskName, timeoutMs, message: `job ${job.id} (${job.taskName}) ran longer than ${timeoutMs} ms` })
      })
    }

    const expired = (job: JobDescription, handler: RegisteredHandler | undefined, now: number) =>
      handler?.expireMs !== undefined && now > job.scheduledAt.getTime() + handler.expireMs
        ? new JobExpiredError({
          taskName: job.taskName,
          expireMs: handler.expireMs,
          message: `job ${job.id} (${job.taskName}) was not started within ${handler.expireMs} ms of its scheduled time`
        })
        : undefined

    // Only the handler, and an ending's write that is retrying, can be interrupted (`restore`; the thread runs the
    // rest uninterruptibly): once a handler has succeeded, its outcome is always handed on, so a shutdown cannot
    // release (and so re-run) a job that already succeeded. A failed job, once its failure is handed on, fails with
    // its error, so that its span says so.
    const perform = (
      job: JobDescription,
      payload: string,
      startedAt: number,
      restore: Threads.Restore
    ): Effect.Effect<void, JobError> => {
      const handler = registry.get(job.taskName)
      return Effect.zipRight(
        events.publish(JobEvent.Started({ job, processId })),
        Effect.flatMap(run(job, handler, payload, restore), (exit) =>
          Exit.isSuccess(exit) ? options.finisher.offer(job, exit.value, startedAt) : failed(job, handler, exit.cause, startedAt, restore))
      )
    }

    /** The handler's run (none for an unknown task or an expired job), as an exit. */
    const run = (
      job: JobDescription,
      handler: RegisteredHandler | undefined,
      payload: string,
      restore: Threads.Restore
    ): Effect.Effect<Exit.Exit<string | null, unknown>> => {
      if (handler === undefined) return Effect.succeed(unknownTask(job.taskName))
      const handled = Effect.exit(restore(bounded(handler, job, payload)))
      if (handler.expireMs === undefined) return handled
      return Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const tooLate = expired(job, handler, now)
        return tooLate !== undefined ? Effect.succeed(Exit.fail(tooLate)) : handled
      })
    }

    /** A run that did not succeed: cancelled, stopped by the worker, or failed (and maybe retried). */
    const failed = (
      job: JobDescription,
      handler: RegisteredHandler | undefined,
      cause: Cause.Cause<unknown>,
      startedAt: number,
      restore: Threads.Restore
    ): Effect.Effect<void, JobError> =>
      Effect.gen(function*() {
        const interrupted = Cause.isInterruptedOnly(cause)
        // Interrupted because the job was cancelled: it ends cancelled, never retried.
        // The fiber itself was interrupted, so the write cannot be made interruptible again: it is retried for a
        // bounded time instead (past it, the claim is released at shutdown or failed by pruning).
        if (interrupted && running.cancelling.has(job.id)) {
          const error = JobError.fromUnknown(new JobCancelledError({ jobId: job.id, message: `job ${job.id} was cancelled while running` }))
          yield* endWith(job, startedAt, error, Option.none(), true)
          return yield* Effect.fail(error)
        }
        // Interrupted by the worker's shutdown: the claim is released back to ready. Interrupted because the job
        // is no longer this worker's: nothing to write. Interrupted otherwise (the handler interrupted itself):
        // a failure like any other.
        if (interrupted && Running.interruptedByWorker(running, job.id)) return
        const failure = JobError.errorOf(cause)
        const encoded = handler?.encodeError(failure)
        const error = JobError.fromCause(cause)
        const stored = encoded === undefined ? error : new JobError({ ...error, value: encoded })
        const retry = yield* retryAt(job, handler, stored, failure, yield* Clock.currentTimeMillis)
        yield* Effect.logWarning(
          `steady-queue: job ${job.id} (${job.taskName}) failed: ${error.tag}: ${error.message}` +
            (Option.isSome(retry) ? `; attempt ${job.attempt + 1} at ${new Date(retry.value).toISOString()}` : "")
        )
        yield* restore(endWith(job, startedAt, stored, retry, false))
        return yield* Effect.fail(stored)
      })

    return (row, startedAt, restore) => {
      const job = describe(row)
      const annotated = annotations(job)
      const performed = perform(job, row.arguments, startedAt, restore)
      return Effect.zipRight(
        annotateFiber(annotated),
        Effect.catchAll(traced ? hotSpan("steady-queue.run", { attributes: annotated, kind: "consumer" })(performed) : performed, () => Effect.void)
      )
    }
  })

/**
 * What a retry policy sees of a failure: a declared failure or a timeout as itself, anything else as
 * `JobFailedError` with the stored tag, message and stack.
 */
export const attemptError = (job: { readonly id: number }, stored: JobError, failure: unknown): unknown =>
  stored.value !== null || failure instanceof JobTimeoutError || failure instanceof ProcessPrunedError ||
    failure instanceof ProcessExitError
    ? failure
    : new JobFailedError({ jobId: job.id, tag: stored.tag, message: stored.message, stack: stored.stack })
