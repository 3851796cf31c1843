/**
 * One LISTEN connection kept up for as long as its scope lives: opened, checked with a round trip every
 * `healthInterval` (a connection cut without a FIN answers nothing and raises no error), and opened again, after
 * a growing delay, whenever it drops. Every time it listens (again) `listening` runs: notices sent while it was
 * not listening are lost, so readers should look at once.
 */
import { Cause, Duration, Effect, type Scope } from "effect"

/** An open connection that listens on its channels. */
export interface ListenConnection {
  /** Fails when the connection is lost (the driver's `error` or `end`). */
  readonly lost: Effect.Effect<never, unknown>
  /** A round trip on this very connection (`SELECT 1`). */
  readonly ping: Effect.Effect<void, unknown>
}

export interface ListenOptions {
  /** Opens a connection and listens on every channel; it is closed with the scope. */
  readonly open: Effect.Effect<ListenConnection, unknown, Scope.Scope>
  /** Runs each time the connection listens, the first time included. */
  readonly listening: Effect.Effect<void>
  readonly healthInterval?: Duration.DurationInput
  /** How long a health check may take before the connection counts as lost. */
  readonly healthTimeout?: Duration.DurationInput
  /** The delay before the first attempt to open again, doubled on each failure in a row up to `maxRetryDelay`. */
  readonly retryDelay?: Duration.DurationInput
  readonly maxRetryDelay?: Duration.DurationInput
}

export const listenDefaults = {
  healthInterval: Duration.seconds(5),
  healthTimeout: Duration.seconds(5),
  retryDelay: Duration.millis(200),
  maxRetryDelay: Duration.seconds(5)
} as const

const messageOf = (error: unknown) => error instanceof Error ? error.message : String(error)

/** A connection's life: it listens, then fails when it is lost or a health check goes unanswered. */
const session = (options: ListenOptions, listening: Effect.Effect<void>): Effect.Effect<never, unknown> =>
  Effect.scoped(Effect.gen(function*() {
    const connection = yield* options.open
    yield* listening
    const timeout = options.healthTimeout ?? listenDefaults.healthTimeout
    const healthy = Effect.sleep(options.healthInterval ?? listenDefaults.healthInterval).pipe(
      Effect.zipRight(connection.ping.pipe(
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new Error(`no answer to a health check within ${Duration.format(timeout)}`)
        })
      )),
      Effect.forever
    )
    return yield* Effect.raceFirst(connection.lost, healthy)
  }))

/** Keeps a LISTEN connection up in a fiber of the scope; never fails. */
export const keepListening = (options: ListenOptions): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    let state: "starting" | "up" | "down" = "starting"
    let failures = 0
    const listening = Effect.suspend(() => {
      const back = state === "down"
      state = "up"
      failures = 0
      return Effect.zipRight(
        back ? Effect.logInfo("steady-queue: the LISTEN connection is back; readers look again") : Effect.void,
        options.listening
      )
    })
    const dropped = (error: unknown) =>
      Effect.suspend(() => {
        const message = messageOf(error)
        const log = state === "up"
          ? Effect.logWarning(`steady-queue: the LISTEN connection dropped (${message}); opening it again, polling meanwhile`)
          : failures === 0
          ? Effect.logWarning(`steady-queue: could not open the LISTEN connection (${message}); trying again, polling meanwhile`)
          : Effect.logDebug(`steady-queue: could not open the LISTEN connection (${message})`)
        const base = Duration.toMillis(options.retryDelay ?? listenDefaults.retryDelay)
        const cap = Duration.toMillis(options.maxRetryDelay ?? listenDefaults.maxRetryDelay)
        const delay = Math.min(base * 2 ** Math.min(failures, 30), cap)
        state = "down"
        failures++
        return Effect.zipRight(log, Effect.sleep(Duration.millis(delay)))
      })
    yield* session(options, listening).pipe(
      // Defects too: whatever a driver throws, the connection is opened again.
      Effect.catchAllCause((cause) => Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : dropped(Cause.squash(cause))),
      Effect.forever,
      Effect.forkScoped
    )
  })
