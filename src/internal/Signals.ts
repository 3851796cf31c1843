/**
 * Stop signals while a supervisor runs. The first SIGTERM or SIGINT is `NodeRuntime.runMain`'s: it interrupts the
 * program, a graceful shutdown. runMain then removes its handlers, so a second one (tsx forwards Ctrl-C to its
 * child, which may so get it twice; or an impatient operator) would meet Node's default action and kill the
 * process with its jobs still claimed. Instead, a second one is taken as SIGQUIT: immediate termination, workers
 * skip the shutdown grace period (their jobs are interrupted and released back to ready) and the shutdown goes on.
 * A forked child leaves that decision to its supervisor, which passes it on as SIGQUIT: a Ctrl-C reaches the
 * child from the terminal and again as the supervisor's SIGTERM, which is still one graceful shutdown.
 */
import { Context, Deferred, Effect, Exit, Option, type Scope } from "effect"

type StopSignal = "SIGINT" | "SIGTERM"

interface Installation {
  readonly quit: Deferred.Deferred<void>
  readonly escalates: boolean
  /** A stop signal reached this process while it ran, and someone else (runMain) took it. */
  stopping: boolean
}

/** The quit state of the supervisor this runs under. */
export class ShutdownSignals extends Context.Tag("steady-queue/internal/ShutdownSignals")<
  ShutdownSignals,
  { readonly quit: Deferred.Deferred<void> }
>() {}

const installations = new Set<Installation>()
let listening = false

const quitAll = () => {
  for (const i of installations) Deferred.unsafeDone(i.quit, Exit.void)
}

const onStopSignal = (signal: StopSignal) => {
  // Prepended, so this runs before runMain's handler, which removes itself as it runs.
  const othersListen = process.listenerCount(signal) > 1
  let handled = othersListen
  for (const i of installations) {
    if (i.stopping) {
      handled = true
      if (i.escalates) Deferred.unsafeDone(i.quit, Exit.void)
    } else if (othersListen) {
      i.stopping = true
    }
  }
  // Nobody stops this program on signals (no runMain): leave the signal its default action, as without us.
  if (!handled) {
    stopListening()
    process.kill(process.pid, signal)
  }
}

const onInt = () => onStopSignal("SIGINT")
const onTerm = () => onStopSignal("SIGTERM")
const onQuit = () => {
  quitAll()
  // `runMain` turns SIGTERM into interruption; the grace period is already cut short.
  process.kill(process.pid, "SIGTERM")
}

const startListening = () => {
  if (listening) return
  listening = true
  process.prependListener("SIGINT", onInt)
  process.prependListener("SIGTERM", onTerm)
  process.prependListener("SIGQUIT", onQuit)
}

const stopListening = () => {
  listening = false
  process.removeListener("SIGINT", onInt)
  process.removeListener("SIGTERM", onTerm)
  process.removeListener("SIGQUIT", onQuit)
}

/**
 * Handles SIGQUIT, and SIGINT/SIGTERM after the first, until the scope closes. `escalates: false` (a forked
 * child) ignores repeated SIGINT/SIGTERM, so that only SIGQUIT stops it at once.
 */
export const install = (options: { readonly escalates: boolean }): Effect.Effect<Context.Tag.Service<ShutdownSignals>, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.map(Deferred.make<void>(), (quit) => {
      const installation: Installation = { quit, escalates: options.escalates, stopping: false }
      installations.add(installation)
      startListening()
      return installation
    }),
    (installation) =>
      Effect.sync(() => {
        installations.delete(installation)
        if (installations.size === 0) stopListening()
      })
  )

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
