/**
 * The jobs a worker is running: one small state object per worker, shared by its poller (which starts jobs),
 * its performer (which asks whether an interruption was the worker's own), its liveness (which stops them) and
 * its shutdown. Every field is read and written only in synchronous steps of those fibers.
 */
import { Effect, Queue } from "effect"
import * as Liveness from "../Liveness.js"
import * as Threads from "./Threads.js"

/** One run of a job on a thread (a job run again by the same worker is another run, maybe on the same thread). */
export interface Run {
  readonly thread: Threads.Thread
}

export interface Running {
  /** Runs by job id, from the moment they are handed to a thread until they end. */
  readonly runs: Map<number, Run>
  /**
   * Running jobs that are no longer this worker's (pruned, or stopped for want of liveness): their handlers are
   * interrupted and they write no outcome.
   */
  readonly lost: Set<number>
  /** Running jobs interrupted because they were cancelled: they end cancelled. */
  readonly cancelling: Set<number>
  /** Jobs started and not yet ended. Only the poller raises it, so reading it there never over-claims. */
  inFlight: number
  /** Set when shutdown begins: from then on an interrupted handler is the worker's doing, not a failure. */
  stopping: boolean
  /** Jobs ended since the worker started (its pace sets the default prefetch). */
  ended: number
  /**
   * Offered when a thread comes free and when the threads take the buffer down to the claiming mark, so that a
   * poller with no free thread knows when to start or claim again.
   */
  readonly slotFreed: Queue.Queue<void>
}

export const make: Effect.Effect<Running> = Effect.map(Queue.sliding<void>(1), (slotFreed) => ({
  runs: new Map(),
  lost: new Set(),
  cancelling: new Set(),
  inFlight: 0,
  ended: 0,
  stopping: false,
  slotFreed
}))

/** Whether an interruption of this job's handler came from the worker (shutdown, or a claim it lost). */
export const interruptedByWorker = (running: Running, jobId: number): boolean =>
  running.stopping || running.lost.has(jobId)

/** The bookkeeping of a job that ended, however it ended (synchronous: its thread's last step of the job). */
export const ended = (running: Running, jobId: number): void => {
  running.inFlight--
  running.ended++
  running.runs.delete(jobId)
  running.lost.delete(jobId)
  running.cancelling.delete(jobId)
}

/** Interrupts a job's handler as no longer this worker's: it writes no outcome. */
export const drop = (running: Running, jobId: number, run: Run): Effect.Effect<void> =>
  Effect.suspend(() => {
    running.lost.add(jobId)
    return Threads.interrupt(run.thread)
  })

/** Interrupts the handlers of running jobs asked to cancel (each once): they end cancelled. */
export const cancel = (running: Running, jobIds: ReadonlyArray<number>): Effect.Effect<void> =>
  Effect.forEach(jobIds, (jobId) => {
    const run = running.runs.get(jobId)
    if (run === undefined || running.cancelling.has(jobId) || running.lost.has(jobId)) return Effect.void
    running.cancelling.add(jobId)
    return Effect.zipRight(
      Effect.logInfo(`steady-queue: job ${jobId} was cancelled; its handler is interrupted`),
      Threads.interrupt(run.thread)
    )
  }, { discard: true })

/** Interrupts every running handler (the worker stops for want of liveness). */
export const dropAll = (running: Running): Effect.Effect<void> =>
  Effect.forEach([...running.runs], ([jobId, run]) => drop(running, jobId, run), { discard: true })

/**
 * Stops the handlers of running jobs whose claim is gone, by `claimedBy` (the job ids the database still has
 * claimed by this worker); jobs started after the check began are left alone.
 */
export const dropLost = <E>(
  running: Running,
  claimedBy: Effect.Effect<ReadonlyArray<number>, E>,
  attemptTimeout: Liveness.Liveness["attemptTimeout"]
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const snapshot = [...running.runs]
    if (snapshot.length === 0) return
    const owned = new Set(yield* Liveness.attempt(claimedBy, attemptTimeout))
    for (const [jobId, run] of snapshot) {
      if (owned.has(jobId) || running.runs.get(jobId) !== run) continue
      yield* Effect.logWarning(`steady-queue: job ${jobId} is no longer claimed by this worker; its handler is interrupted`)
      yield* drop(running, jobId, run)
    }
  }).pipe(Effect.catchAllCause((cause) => Effect.logWarning("steady-queue: could not check which jobs this worker still holds", cause)))
