/**
 * A worker's shutdown, run by the closing of its scope, in this order (finalizers run last-added first):
 * 1. `graceful`: the poll loop stops, the jobs claimed ahead and not started go back to ready (other workers may
 *    take them at once), and running jobs get up to the shutdown timeout to finish (SIGQUIT, or a second
 *    SIGTERM/SIGINT, cuts that short);
 * 2. the jobs still running are interrupted, and the worker's threads end (Threads.ts);
 * 3. the Finisher writes the successes it still holds;
 * 4. `releaseHeld`: whatever is still claimed by the worker goes back to ready, and its process row goes.
 */
import { Clock, type Context, type Duration, Effect, type Scope } from "effect"
import { writeRetry } from "../ProcessRow.js"
import { awaitQuit } from "../Signals.js"
import type { Store } from "../Store.js"
import type { Poller } from "./Poller.js"
import type { Running } from "./Running.js"

/** Puts every job still claimed by the worker back in ready, as of `now`; returns how many. */
const release = (store: Context.Tag.Service<Store>, processId: number, now: number) =>
  Effect.map(store.claimed.release(undefined, processId, now), (released) => released.length)

/** The last step of shutdown: the unstarted and unfinished jobs the worker holds go back to ready. */
export const releaseHeld = (store: Context.Tag.Service<Store>, processId: number): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => release(store, processId, now)).pipe(
    Effect.retry(writeRetry),
    Effect.tap((n) => n > 0 ? Effect.logInfo(`steady-queue: released ${n} unfinished job(s) back to ready`) : Effect.void),
    Effect.catchAllCause((e) => Effect.logError("steady-queue: could not release claimed jobs; pruning will fail them", e)),
    Effect.asVoid
  )

/** A stopped worker, once its handlers have all ended, gives back what it holds before it claims again. */
export const releaseStopped = (store: Context.Tag.Service<Store>, processId: number, now: number) =>
  Effect.flatMap(release(store, processId, now), (n) =>
    n > 0 ? Effect.logInfo(`steady-queue: released ${n} job(s) of stopped handlers back to ready`) : Effect.void)

/**
 * Adds the first step of shutdown to the scope; add it last, so that it runs before the other finalizers.
 * What is left running afterwards is interrupted by the worker's threads, and its claims go back to ready.
 */
export const graceful = (options: {
  readonly running: Running
  readonly poller: Poller
  readonly shutdownTimeout: Duration.DurationInput
}): Effect.Effect<void, never, Scope.Scope> =>
  Effect.addFinalizer(() =>
    Effect.sync(() => (options.running.stopping = true)).pipe(
      Effect.zipRight(options.poller.stop),
      Effect.zipRight(options.poller.releaseBuffered),
      Effect.zipRight(
        Effect.raceFirst(options.poller.awaitIdle, awaitQuit).pipe(Effect.interruptible, Effect.timeoutOption(options.shutdownTimeout))
      )
    )
  )
