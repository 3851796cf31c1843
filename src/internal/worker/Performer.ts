/**
 * Runs one claimed job: finds its task's handler (which decodes the payload and provides `CurrentJob`), runs it
 * and hands the outcome on, a success to the Finisher and a failure to the database. Each run is one
 * `steady-queue.run` span, and every log line within it, the handler's own included, carries the job's `jobId`,
 * `task`, `queue` and `attempt`.
 */
import { Cause, Clock, Effect, Exit, FiberRef, HashMap } from "effect"
import type { JobDescription } from "../../Domain.js"
import { UnknownTaskError } from "../../Errors.js"
import { JobError } from "../../JobError.js"
import { JobEvent, JobEvents } from "../../JobEvents.js"
import { TaskRegistry } from "../../TaskRegistry.js"
import type * as Finisher from "../Finisher.js"
import * as Liveness from "../Liveness.js"
import type { JobRow } from "../sql/rows.js"
import { Store } from "../Store.js"
import * as Running from "./Running.js"
import { hotSpan } from "../spans.js"

/** Runs one job; run each in a fiber of its own, which it annotates for its whole life. */
export type Perform = (row: JobRow) => Effect.Effect<void>

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
 * Sets the log annotations of the job's own fiber (the poller forks one per job): one update, where
 * `Effect.annotateLogs` would also restore them when the run ends, which a fiber that ends with it does not need.
 */
const annotateFiber = (annotated: ReturnType<typeof annotations>) =>
  FiberRef.update(FiberRef.currentLogAnnotations, (current) =>
    HashMap.mutate(current, (m) => {
      for (const [key, value] of Object.entries(annotated)) HashMap.set(m, key, value)
    }))

const unknownTask = (taskName: string) =>
  Exit.fail(new UnknownTaskError({ taskName, message: `no handler is registered for task "${taskName}"` }))

export const make = (options: {
  readonly processId: number
  readonly running: Running.Running
  readonly finisher: Finisher.Finisher
  readonly liveness: Liveness.Liveness
  /** Interrupts the handlers of jobs whose claim is no longer this worker's. */
  readonly dropLost: Effect.Effect<void>
}): Effect.Effect<Perform, never, Store | TaskRegistry | JobEvents> =>
  Effect.gen(function*() {
    const store = yield* Store
    const registry = yield* TaskRegistry
    const events = yield* JobEvents
    const { liveness, processId, running } = options

    // Retried until written, like successes; a failure that cannot be written stops the worker through its
    // liveness. Interrupted (shutdown past its timeout, or the worker stopping), the job is left to the release
    // or to pruning.
    const recordFailure = (job: JobDescription, error: JobError) =>
      Effect.gen(function*() {
        yield* Liveness.outcomePending(liveness, job.id)
        const recorded = yield* Liveness.retryWrite(
          Effect.flatMap(Clock.currentTimeMillis, (now) => store.claimed.fail(job, processId, JobError.encodeJson(error), now)),
          {
            timeout: liveness.attemptTimeout,
            schedule: Liveness.untilWritten,
            merge: (a, late) => a || late,
            onFailure: (e) => Effect.logWarning(`steady-queue: could not record the failure of job ${job.id}; retrying`, e)
          }
        )
        if (recorded) {
          yield* events.publish(JobEvent.Finished({ job, processId, outcome: "failed", error }))
        }
        else {
          yield* Effect.logWarning(`steady-queue: job ${job.id} was no longer claimed by this worker; its failure was not recorded`)
          yield* options.dropLost
        }
      }).pipe(
        Effect.ensuring(Liveness.settle(liveness, [job.id])),
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause) ? Effect.interrupt : Effect.logError(`steady-queue: could not record the failure of job ${job.id}`, cause)
        ),
        hotSpan("steady-queue.fail", { attributes: { jobId: job.id } })
      )

    // Only the handler, and a failure write that is retrying, can be interrupted: once a handler has succeeded, its
    // outcome is always handed on, so a shutdown cannot release (and so re-run) a job that already succeeded.
    // A failed job, once its failure is handed on, fails with its error, so that its span says so.
    const perform = (job: JobDescription, payload: string): Effect.Effect<void, JobError> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          yield* events.publish(JobEvent.Started({ job, processId }))
          const handler = registry.get(job.taskName)
          const exit = handler === undefined ? unknownTask(job.taskName) : yield* Effect.exit(restore(handler.run(payload, job)))
          if (Exit.isSuccess(exit)) {

            return yield* options.finisher.offer(job)
          }
          // Interrupted by the worker's shutdown: the claim is released back to ready. Interrupted because the job
          // is no longer this worker's: nothing to write. Interrupted otherwise (the handler interrupted itself):
          // a failure like any other.
          if (Running.interruptedByWorker(running, job.id) && Cause.isInterruptedOnly(exit.cause)) return
          const error = JobError.fromCause(exit.cause)
          yield* Effect.logWarning(`steady-queue: job ${job.id} (${job.taskName}) failed: ${error.tag}: ${error.message}`)
          yield* restore(recordFailure(job, error))
          return yield* Effect.fail(error)
        })
      )

    return (row) => {
      const job = describe(row)
      const annotated = annotations(job)
      return Effect.zipRight(
        annotateFiber(annotated),
        perform(job, row.arguments).pipe(
          hotSpan("steady-queue.run", { attributes: annotated, kind: "consumer" }),
          Effect.catchAll(() => Effect.void)
        )
      )
    }
  })
