/**
 * A worker's successful jobs, finished in batches by one fiber: one fenced statement per batch, then one
 * `Finished` event each. When the scope closes, whatever is still queued is written before the worker releases
 * its claims.
 */
import { Clock, Duration, Effect, Queue, Schedule, type Scope } from "effect"
import type { JobDescription } from "../CurrentJob.js"
import { JobEvent, JobEvents } from "../JobEvents.js"
import { writeRetry } from "./ProcessRow.js"
import { Store } from "./Store.js"

/** Successful jobs finished per statement. */
const batchSize = 500

const untilWritten = Schedule.exponential(Duration.millis(50), 2).pipe(Schedule.either(Schedule.spaced(Duration.seconds(5))))

export interface Finisher {
  /** Queues a job that succeeded. Never waits: the queue is bounded in practice by claims, which also need the
   * database, so a job fiber handing on its outcome can never hold up a shutdown. */
  readonly offer: (job: JobDescription) => Effect.Effect<void>
}

export const start = (options: {
  readonly processId: number
  readonly preserveFinishedJobs: boolean
}): Effect.Effect<Finisher, never, Store | JobEvents | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* Store
    const events = yield* JobEvents
    const { processId } = options
    const queue = yield* Queue.unbounded<JobDescription>()

    const finish = (jobs: ReadonlyArray<JobDescription>, retry: Schedule.Schedule<unknown, unknown>) =>
      Effect.gen(function*() {
        const finished = new Set(
          yield* Effect.flatMap(
            Clock.currentTimeMillis,
            (now) => store.claimed.finish(jobs, processId, now, options.preserveFinishedJobs)
          ).pipe(Effect.retry(retry))
        )
        yield* events.publishAll(
          jobs.filter((job) => finished.has(job.id)).map((job) =>
            JobEvent.Finished({ job, processId, outcome: "succeeded", error: undefined })
          )
        )
        for (const job of jobs) {
          if (!finished.has(job.id)) {
            yield* Effect.logWarning(`steady-queue: job ${job.id} was no longer claimed by this worker; its success was not recorded`)
          }
        }
      })

    // At shutdown: what is left, with a bounded retry so a database that is gone cannot hold the process forever.
    const flushAll = Effect.flatMap(Queue.takeAll(queue), (chunk) => {
      const all = Array.from(chunk)
      const batches = Array.from({ length: Math.ceil(all.length / batchSize) }, (_, i) => all.slice(i * batchSize, (i + 1) * batchSize))
      return Effect.forEach(batches, (batch) =>
        finish(batch, writeRetry).pipe(
          Effect.catchAll((e) => Effect.logError("steady-queue: could not record finished jobs before shutdown", e))
        ), { discard: true })
    })
    yield* Effect.addFinalizer(() => flushAll)
    // While running, a batch is retried until it is written: an outcome is never dropped. Interrupted (shutdown)
    // while waiting, the batch goes back to the queue for `flushAll`; nothing taken is ever lost in between.
    yield* Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(restore(Queue.takeBetween(queue, 1, batchSize)), (chunk) => {
        const batch = Array.from(chunk)
        return restore(finish(batch, untilWritten)).pipe(Effect.onInterrupt(() => Queue.offerAll(queue, batch)))
      })
    ).pipe(Effect.forever, Effect.forkScoped)
    return { offer: (job) => Effect.asVoid(Queue.offer(queue, job)) }
  })
