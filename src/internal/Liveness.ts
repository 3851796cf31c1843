/**
 * A worker's liveness: it may hold claims only while it shows it is alive, by heartbeats and by outcome writes
 * that make progress. When it cannot (the database refuses its writes, a client call hangs, the process was
 * frozen), it stops: no more claims, its handlers interrupted, no more heartbeats, so that pruning fails what it
 * holds instead of a live process holding it forever. It recovers on its own once its writes go through again.
 */
import { Cause, Clock, Duration, Effect, Either, Exit, Fiber, Option, Schedule, Schema, type Scope } from "effect"

/** An outcome write that died (as a failed ROLLBACK on a lost connection does) or did not answer in time. */
export class WriteAttemptError extends Schema.TaggedError<WriteAttemptError>()("WriteAttemptError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/** Retries outcome writes while the worker runs: backs off to one attempt every 5 seconds, never gives up. */
export const untilWritten = Schedule.exponential(Duration.millis(50), 2).pipe(Schedule.either(Schedule.spaced(Duration.seconds(5))))

/** A defect of the write is a failure like any other: it is retried, never lost with the fiber that ran it. */
const asFailure = <A, E, R>(write: Effect.Effect<A, E, R>) =>
  Effect.catchAllDefect(write, (defect) => Effect.fail(new WriteAttemptError({ message: "the write died", cause: defect })))

/**
 * Retries `write` by `schedule`, each attempt bounded by `timeout`. A hung client call cannot be interrupted, so
 * an attempt past its bound is left running while the next one starts; once one succeeds, the attempts left
 * behind are awaited (up to `timeout` each) and what they wrote is merged in, so a write that landed late is not
 * taken for one that was fenced off.
 */
export const retryWrite = <A, E, R>(write: Effect.Effect<A, E, R>, options: {
  readonly timeout: Duration.DurationInput
  readonly schedule: Schedule.Schedule<unknown, unknown>
  readonly merge: (a: A, late: A) => A
  readonly onFailure: (error: E | WriteAttemptError) => Effect.Effect<void>
}): Effect.Effect<A, E | WriteAttemptError, R> =>
  Effect.suspend(() => {
    const late: Array<Fiber.RuntimeFiber<A, E | WriteAttemptError>> = []
    const once = Effect.gen(function*() {
      const fiber = yield* Effect.forkDaemon(asFailure(write))
      return yield* Fiber.join(fiber).pipe(
        Effect.timeoutOption(options.timeout),
        Effect.onInterrupt(() => Fiber.interruptFork(fiber)),
        Effect.flatMap(Option.match({
          onSome: Effect.succeed,
          onNone: () => {
            late.push(fiber)
            return Effect.fail(new WriteAttemptError({ message: `no answer within ${Duration.format(options.timeout)}` }))
          }
        }))
      )
    })
    return Effect.gen(function*() {
      let result = yield* once.pipe(Effect.tapError(options.onFailure), Effect.retry(options.schedule))
      for (const fiber of late) {
        const exit = yield* Effect.timeoutOption(Fiber.await(fiber), options.timeout)
        if (Option.isSome(exit) && Exit.isSuccess(exit.value)) result = options.merge(result, exit.value.value)
      }
      return result
    }).pipe(Effect.onInterrupt(() => Effect.forEach(late, Fiber.interruptFork, { discard: true })))
  })

/** One attempt of `write`, bounded by `timeout`; defects are failures. */
export const attempt = <A, E, R>(write: Effect.Effect<A, E, R>, timeout: Duration.DurationInput) =>
  retryWrite(write, { timeout, schedule: Schedule.stop, merge: (a) => a, onFailure: () => Effect.void })

export interface Liveness {
  readonly aliveThreshold: Duration.Duration
  /** Outcome writes stuck this long stop the worker: before its heartbeat is old enough to be pruned. */
  readonly stallAfter: Duration.Duration
  /** The bound of one write attempt. */
  readonly attemptTimeout: Duration.Duration
  /** The time written by the last heartbeat that went through (or by the registration). */
  lastBeat: number
  /** Set while the worker is stopped for want of liveness. */
  stalled: boolean
  /** Outcomes handed on but not yet written, by job id, with the time they were handed on (oldest first). */
  readonly pending: Map<number, number>
}

export const make = (options: {
  readonly aliveThreshold: Duration.DurationInput
  readonly heartbeatInterval: Duration.DurationInput
}): Effect.Effect<Liveness> =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    const threshold = Duration.toMillis(options.aliveThreshold)
    const interval = Duration.toMillis(options.heartbeatInterval)
    // One heartbeat interval short of the threshold, so the worker stops before anyone can prune it.
    const stallAfter = Duration.millis(threshold > interval ? threshold - interval : threshold / 2)
    return {
      aliveThreshold: Duration.millis(threshold),
      stallAfter,
      attemptTimeout: Duration.min(stallAfter, Duration.seconds(30)),
      lastBeat: now,
      stalled: false,
      pending: new Map()
    }
  })

/** Marks an outcome as handed on at `now`; `settle` when it is written (or given up at shutdown). */
export const outcomePending = (liveness: Liveness, jobId: number) =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    if (!liveness.pending.has(jobId)) liveness.pending.set(jobId, now)
  })

export const settle = (liveness: Liveness, jobIds: Iterable<number>) =>
  Effect.sync(() => {
    for (const id of jobIds) liveness.pending.delete(id)
  })

const oldestPending = (liveness: Liveness): number | undefined => liveness.pending.values().next().value

/** What the liveness loop needs of the worker and of its process row. */
export interface Watched {
  readonly processId: number
  /** Writes a heartbeat at `now`; false when the row was gone (the process was pruned). */
  readonly heartbeat: (now: number) => Effect.Effect<boolean, unknown>
  /** Puts the row of a pruned process back. */
  readonly registerAgain: (now: number) => Effect.Effect<void, unknown>
  /** Stops claiming and interrupts every running handler. */
  readonly stop: (reason: string) => Effect.Effect<void>
  /** Whether no handler is running any more. */
  readonly idle: Effect.Effect<boolean>
  /** Puts whatever the worker still holds back in ready (called only when no handler runs). */
  readonly releaseHeld: (now: number) => Effect.Effect<void, unknown>
  /** Interrupts the handlers of jobs whose claim is no longer this worker's. */
  readonly dropLost: Effect.Effect<void>
  /** Claims again. */
  readonly resume: Effect.Effect<void>
}

const ago = (ms: number) => Duration.format(Duration.millis(ms))

/**
 * One step of the loop, run every heartbeat interval. Live: heartbeat, and stop when the last heartbeat or the
 * oldest unwritten outcome is too old. Stopped: no heartbeat while outcomes are unwritten or handlers still run
 * (so pruning can take what the worker holds); then release what it holds, heartbeat (registering again if it
 * was pruned) and claim again.
 */
const step = (liveness: Liveness, worker: Watched) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const threshold = Duration.toMillis(liveness.aliveThreshold)
    const stallAfter = Duration.toMillis(liveness.stallAfter)
    const stop = (reason: string) =>
      Effect.suspend(() => {
        liveness.stalled = true
        return worker.stop(reason)
      })
    if (!liveness.stalled) {
      const oldest = oldestPending(liveness)
      // Asleep (a frozen process, a long pause) past the threshold: it may have been pruned already.
      if (now - liveness.lastBeat > threshold) yield* stop(`no heartbeat for ${ago(now - liveness.lastBeat)}`)
      else if (oldest !== undefined && now - oldest >= stallAfter) {
        yield* stop(`outcomes have waited ${ago(now - oldest)} to be written`)
      }
    }
    if (liveness.stalled) {
      if (liveness.pending.size > 0 || !(yield* worker.idle)) return
      const released = yield* Effect.either(attempt(worker.releaseHeld(now), liveness.attemptTimeout))
      if (Either.isLeft(released)) return yield* Effect.logWarning("steady-queue: a stopped worker could not release its jobs", released.left)
    }
    const beat = yield* Effect.either(attempt(worker.heartbeat(now), liveness.attemptTimeout))
    if (Either.isLeft(beat)) {
      yield* Effect.logWarning("steady-queue: heartbeat failed", beat.left)
      if (!liveness.stalled && now - liveness.lastBeat >= stallAfter) yield* stop(`no heartbeat for ${ago(now - liveness.lastBeat)}`)
      return
    }
    if (!beat.right) {
      // Pruned: its claims were failed. The handlers of those jobs stop now, before it takes new work.
      yield* Effect.logWarning(`steady-queue: process ${worker.processId} (Worker) was pruned; registering again`)
      yield* worker.dropLost
      yield* attempt(worker.registerAgain(now), liveness.attemptTimeout)
    }
    liveness.lastBeat = now
    if (liveness.stalled) {
      liveness.stalled = false
      yield* Effect.logInfo(`steady-queue: worker ${worker.processId} is writing again and takes new jobs`)
      yield* worker.resume
    }
  })

/** Runs the liveness loop in the current scope: every heartbeat interval, starting one interval from now. */
export const watch = (
  liveness: Liveness,
  worker: Watched,
  heartbeatInterval: Duration.DurationInput
): Effect.Effect<void, never, Scope.Scope> =>
  step(liveness, worker).pipe(
    // The loop must outlive anything one step can throw.
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : Effect.logWarning("steady-queue: heartbeat failed", cause)
    ),
    Effect.repeat(Schedule.spaced(heartbeatInterval)),
    Effect.delay(heartbeatInterval),
    Effect.forkScoped,
    Effect.asVoid
  )
