/**
 * Stop signals while a supervisor runs. The first SIGTERM or SIGINT is `NodeRuntime.runMain`'s: it interrupts the
 * program, a graceful shutdown. runMain then removes its handlers, so a second one (tsx forwards Ctrl-C to its
 * child, which may so get it twice; or an impatient operator) would meet Node's default action and kill the
 * process with its jobs still claimed. Instead, a second one is taken as SIGQUIT: immediate termination, workers
 * skip the shutdown grace period (their jobs are interrupted and released back to ready) and the shutdown goes on.
 * A forked child leaves that decision to its supervisor, which passes it on as SIGQUIT: a Ctrl-C reaches the
 * child from the terminal and again as the supervisor's SIGTERM, which is still one graceful shutdown.
 *
 * Each supervisor has a `ShutdownSignals` of its own, whose listeners live as long as the layer's scope.
 */
import { Context, Deferred, Effect, Exit, Layer, Option, type Scope } from "effect"

type StopSignal = "SIGINT" | "SIGTERM"
type HandledSignal = StopSignal | "SIGQUIT"

export interface Options {
  /**
   * Whether a repeated SIGINT/SIGTERM quits. A forked child says false: it ignores them, so that only its
   * supervisor's SIGQUIT stops it at once.
   */
  readonly escalates: boolean
}

/** The quit state of the supervisor this runs under. */
export class ShutdownSignals extends Context.Tag("steady-queue/internal/ShutdownSignals")<
  ShutdownSignals,
  { readonly quit: Deferred.Deferred<void> }
>() {
  /** Handles SIGQUIT, and SIGINT/SIGTERM after the first, from when it is built until its scope closes. */
  static readonly layer = (options: Options): Layer.Layer<ShutdownSignals> => Layer.scoped(ShutdownSignals, install(options))
}

// Marks the listeners of every supervisor (also of another copy of this module), to tell them from the
// program's own, such as runMain's.
const marker = Symbol.for("steady-queue/ShutdownSignals")
const isOurs = (listener: unknown) => typeof listener === "function" && marker in listener
const othersListen = (signal: StopSignal) => process.listeners(signal).some((l) => !isOurs(l))

/** What `layer` is made of: the handlers of one supervisor, removed when the scope closes. */
export const install = (options: Options): Effect.Effect<Context.Tag.Service<ShutdownSignals>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const quit = yield* Deferred.make<void>()
    // A stop signal reached this process while it ran, and someone else (runMain) took it.
    let stopping = false

    const onStopSignal = (signal: StopSignal) => {
      if (stopping) {
        if (options.escalates) Deferred.unsafeDone(quit, Exit.void)
      } else if (othersListen(signal)) {
        stopping = true
      } else {
        // Nobody stops this program on signals (no runMain): leave the signal its default action, as without us,
        // once no other supervisor of this process listens either.
        stopListening()
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
      }
    }
    const listeners: Record<HandledSignal, () => void> = {
      SIGINT: () => onStopSignal("SIGINT"),
      SIGTERM: () => onStopSignal("SIGTERM"),
      SIGQUIT: () => {
        Deferred.unsafeDone(quit, Exit.void)
        // `runMain` turns SIGTERM into interruption; the grace period is already cut short. Sent once, by the
        // first supervisor to hear it.
        if (process.listeners("SIGQUIT").find(isOurs) === listeners.SIGQUIT) process.kill(process.pid, "SIGTERM")
      }
    }
    const entries = Object.entries(listeners) as Array<[HandledSignal, () => void]>
    const stopListening = () => {
      for (const [signal, listener] of entries) process.removeListener(signal, listener)
    }

    yield* Effect.acquireRelease(
      Effect.sync(() => {
        for (const [signal, listener] of entries) {
          Object.defineProperty(listener, marker, { value: true })
          // Prepended, so this runs before runMain's handler, which removes itself as it runs.
          process.prependListener(signal, listener)
        }
      }),
      () => Effect.sync(stopListening)
    )
    return { quit }
  })

// From the context: a finalizer runs with the context it was added in, so a worker's shutdown sees its supervisor's.
const currentQuit = Effect.serviceOption(ShutdownSignals)

/** Completes when this process was told to quit immediately; never outside a supervisor. */
export const awaitQuit: Effect.Effect<void> = Effect.flatMap(
  currentQuit,
  Option.match({ onNone: () => Effect.never, onSome: (s) => Deferred.await(s.quit) })
)

export const isQuitting: Effect.Effect<boolean> = Effect.flatMap(
  currentQuit,
  Option.match({ onNone: () => Effect.succeed(false), onSome: (s) => Deferred.isDone(s.quit) })
)
