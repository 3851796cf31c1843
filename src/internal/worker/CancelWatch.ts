/**
 * Stops the handlers of running jobs that were asked to cancel, from this process or any other: on a notice
 * (this process's own cancels; PostgreSQL's NOTIFY from others) and, as the backstop on every database, every
 * half second while jobs run, so a cancel reaches its job within a second.
 */
import { Cause, Duration, Effect, type Scope } from "effect"
import { Notices } from "../Notices.js"
import { Store } from "../Store.js"
import * as Running from "./Running.js"

export const checkInterval = Duration.millis(500)

export const start = (options: {
  readonly processId: number
  readonly running: Running.Running
}): Effect.Effect<void, never, Store | Notices | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* Store
    const notices = yield* yield* Effect.map(Notices, (n) => n.onCancel)
    const { processId, running } = options
    const check = Effect.suspend(() =>
      running.runs.size === 0
        ? Effect.void
        : Effect.flatMap(store.cancellation.requestedOf(processId), (ids) => Running.cancel(running, ids))
    ).pipe(
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : Effect.logWarning("steady-queue: could not check for cancelled jobs", cause)
      )
    )
    yield* Effect.raceFirst(notices.take, Effect.sleep(checkInterval)).pipe(
      Effect.zipRight(check),
      Effect.forever,
      Effect.forkScoped
    )
  })
