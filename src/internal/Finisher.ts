/**
 * A worker's successful jobs, finished in batches by one fiber: one fenced write per batch (one statement, or
 * one transaction that also gives limited jobs' slots back), then one `Finished` event each; each batch is one
 * `steady-queue.finish` span. The same write records the starts of jobs that were claimed ahead (so that a
 * process that dies gives back the claims it never started). When the scope closes, whatever is still queued is
 * written before the worker releases its claims.
 */
import { Cause, Chunk, Clock, Effect, Queue, type Schedule, type Scope } from "effect"
import type { JobDescription } from "../CurrentJob.js"
import { JobEvent, JobEvents } from "../JobEvents.js"
import * as Liveness from "./Liveness.js"
import { Notices } from "./Notices.js"
import { Wakeup } from "./Wakeup.js"
import { writeRetry } from "./ProcessRow.js"
import type { Finishing, Started } from "./Storage.js"
import { Store } from "./Store.js"
import { hotSpan } from "./spans.js"

/** Successful jobs finished per statement. */
const batchSize = 500

export interface Finisher {
  /** Queues a job that succeeded, with its encoded result. Never waits: the queue is bounded in practice by
   * claims, which also need the database, so a job fiber handing on its outcome can never hold up a shutdown. */
  readonly offer: (job: JobDescription, result: string | null, startedAt: number) => Effect.Effect<void>
  /** Queues the starts of jobs that were claimed ahead, for the next write (synchronously: the queue is unbounded). */
  readonly started: (jobIds: ReadonlyArray<number>, startedAt: number) => void
}

/** A job that succeeded, as its batch writes it. */
interface Succeeded extends Finishing {
  readonly _tag: "Succeeded"
  readonly job: JobDescription
}

interface Start extends Started {
  readonly _tag: "Started"
}

type Item = Succeeded | Start

/** A batch split into the starts to record and the successes to write (a start of a job finished too is left out). */
const split = (batch: ReadonlyArray<Item>) => {
  const done: Array<Succeeded> = []
  const finished = new Set<number>()
  for (const item of batch) {
    if (item._tag === "Succeeded") {
      done.push(item)
      finished.add(item.id)
    }
  }
  const started = batch.filter((item): item is Start => item._tag === "Started" && !finished.has(item.id))
  return { started, done }
}

export const start = (options: {
  readonly processId: number
  readonly preserveFinishedJobs: boolean
  /** Every queued job is pending there until its batch is written: outcomes stuck too long stop the worker. */
  readonly liveness: Liveness.Liveness
  /** Jobs whose claim was gone when their success was written: the worker was pruned. */
  readonly onFenced: (jobs: ReadonlyArray<JobDescription>) => Effect.Effect<void>
}): Effect.Effect<Finisher, never, Store | Notices | Wakeup | JobEvents | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* Store
    const events = yield* JobEvents
    const notices = yield* Notices
    const wakeup = yield* Wakeup
    const { liveness, processId } = options
    const queue = yield* Queue.unbounded<Item>()

    const write = (started: ReadonlyArray<Start>, jobs: ReadonlyArray<Succeeded>, retry: Schedule.Schedule<unknown, unknown>) =>
      Liveness.retryWrite(
        Effect.flatMap(
          Clock.currentTimeMillis,
          (now) => store.claimed.finish(started, jobs, processId, now, options.preserveFinishedJobs)
        ),
        {
          timeout: liveness.attemptTimeout,
          schedule: retry,
          merge: (a, late) => [...a, ...late],
          onFailure: (e) => Effect.logWarning(`steady-queue: could not record ${jobs.length} finished job(s); retrying`, e)
        }
      )

    const announce = (done: ReadonlyArray<Succeeded>, finished: ReadonlySet<number>) =>
      Effect.gen(function*() {
        yield* notices.settled([...finished])
        // Slots given back may have released blocked jobs: idle workers here look at once.
        if (done.some((d) => d.concurrency !== null && finished.has(d.id))) yield* wakeup.ring
        // Lazily: the events are made only if someone listens.
        yield* events.publishAll({
          *[Symbol.iterator]() {
            for (const d of done) {
              if (finished.has(d.id)) yield JobEvent.Finished({ job: d.job, processId, outcome: "succeeded", error: undefined })
            }
          }
        })
        const fenced = finished.size === done.length ? [] : done.filter((d) => !finished.has(d.id)).map((d) => d.job)
        for (const job of fenced) {
          yield* Effect.logWarning(`steady-queue: job ${job.id} was no longer claimed by this worker; its success was not recorded`)
        }
        if (fenced.length > 0) yield* options.onFenced(fenced)
      })

    const finish = (batch: ReadonlyArray<Item>, retry: Schedule.Schedule<unknown, unknown>) =>
      Effect.gen(function*() {
        const { done: jobs, started } = split(batch)
        const finished = new Set(yield* write(started, jobs, retry))
        if (jobs.length === 0) return
        yield* Liveness.settle(liveness, jobs.map((j) => j.id))
        // Written: whatever goes wrong from here is logged, and the batch is not written again.
        yield* announce(jobs, finished).pipe(
          Effect.catchAllCause((cause) =>
            Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError("steady-queue: after finishing jobs", cause)
          )
        )
      }).pipe(hotSpan("steady-queue.finish", { attributes: { batchSize: batch.length } }))

    /**
     * Before a batch is written, lets the jobs running alongside hand on their outcomes too: it takes what comes
     * while it yields, and stops after 32 turns of the scheduler bring nothing (or the batch is full). Short jobs
     * end in rounds of `threads`; where the driver is synchronous (SQLite's), nothing can arrive while a batch is
     * written, and batches would stay one round. Only yields: no wait on the clock, a few microseconds when
     * nothing else runs.
     */
    const gather = (batch: Array<Item>) =>
      Effect.gen(function*() {
        let quiet = 0
        for (let turn = 0; turn < 256 && quiet < 32 && batch.length < batchSize; turn++) {
          yield* Effect.yieldNow()
          const more = yield* Queue.takeUpTo(queue, batchSize - batch.length)
          quiet = more.length === 0 ? quiet + 1 : 0
          for (const item of more) batch.push(item)
        }
      })

    // At shutdown: what is left, with a bounded retry so a database that is gone cannot hold the process forever.
    const flushAll = Effect.flatMap(Queue.takeAll(queue), (all) =>
      Effect.forEach(Chunk.chunksOf(all, batchSize), (batch) =>
        finish(Chunk.toReadonlyArray(batch), writeRetry).pipe(
          Effect.catchAll((e) => Effect.logError("steady-queue: could not record finished jobs before shutdown", e))
        ), { discard: true }))
    yield* Effect.addFinalizer(() => flushAll)
    // While running, a batch is retried until it is written: an outcome is never dropped (a batch that cannot be
    // written stops the worker through its liveness, and pruning takes the jobs). Interrupted (shutdown) while
    // waiting, the batch goes back to the queue for `flushAll`; nothing taken is ever lost in between.
    yield* Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(restore(Queue.takeBetween(queue, 1, batchSize)), (chunk) => {
        const batch = Array.from(chunk)
        return Effect.zipRight(gather(batch), Effect.suspend(() => restore(finish(batch, Liveness.untilWritten)))).pipe(
          Effect.onInterrupt(() => Queue.offerAll(queue, batch)),
          // Nothing may end this fiber but the scope: a fiber that died here would leave every later job claimed.
          Effect.catchAllCause((cause) =>
            Cause.isInterruptedOnly(cause)
              ? Effect.failCause(cause)
              : Effect.logError("steady-queue: finishing jobs failed; retrying", cause).pipe(Effect.zipRight(Queue.offerAll(queue, batch)))
          )
        )
      })
    ).pipe(Effect.forever, Effect.forkScoped)
    return {
      offer: (job, result, startedAt) =>
        Effect.zipRight(
          Liveness.outcomePending(liveness, job.id),
          Effect.asVoid(Queue.offer(queue, { _tag: "Succeeded", id: job.id, concurrency: job.concurrency, result, startedAt, job }))
        ),
      started: (jobIds, startedAt) => {
        for (const id of jobIds) queue.unsafeOffer({ _tag: "Started", id, startedAt })
      }
    }
  })
