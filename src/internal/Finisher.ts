/**
 * A worker's successful jobs, finished in batches by one fiber: one fenced statement per batch, then one
 * `Finished` event each. When the scope closes, whatever is still queued is written before the worker releases
 * its claims.
 */
import { Clock, Effect, Queue, type Scope } from "effect"
import type { JobDescription } from "../CurrentJob.js"
import { JobEvent, JobEvents } from "../JobEvents.js"
import { writeRetry } from "./ProcessRow.js"
import { Store } from "./Store.js"

/** Successful jobs finished per statement. */
const batchSize = 500

export interface Finisher {
  /** Queues a job that succeeded; waits while the queue is full (back-pressure on a slow database). */
  readonly offer: (job: JobDescription) => Effect.Effect<void>
}

export const start = (options: {
  readonly processId: number
  readonly preserveFinishedJobs: boolean
  readonly capacity: number
}): Effect.Effect<Finisher, never, Store | JobEvents | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* Store
    const events = yield* JobEvents
    const { processId } = options
    const queue = yield* Queue.bounded<JobDescription>(options.capacity)

    const finish = (jobs: ReadonlyArray<JobDescription>) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const finished = new Set(
          yield* store.claimed.finish(jobs.map((j) => j.id), processId, now, options.preserveFinishedJobs).pipe(
            Effect.retry(writeRetry)
          )
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
      }).pipe(
        Effect.catchAll((e) => Effect.logError("steady-queue: could not record finished jobs; pruning will fail them", e)),
        // A batch being written is written whole, also during shutdown.
        Effect.uninterruptible
      )

    const flushAll = Effect.flatMap(Queue.takeAll(queue), (chunk) => {
      const all = Array.from(chunk)
      const batches = Array.from({ length: Math.ceil(all.length / batchSize) }, (_, i) => all.slice(i * batchSize, (i + 1) * batchSize))
      return Effect.forEach(batches, finish, { discard: true })
    })
    yield* Effect.addFinalizer(() => flushAll)
    yield* Queue.takeBetween(queue, 1, batchSize).pipe(
      Effect.flatMap((chunk) => finish(Array.from(chunk))),
      Effect.forever,
      Effect.forkScoped
    )
    return { offer: (job) => Effect.asVoid(Queue.offer(queue, job)) }
  })
