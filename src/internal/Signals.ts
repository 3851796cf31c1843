/**
 * SIGQUIT: immediate termination. Workers skip the shutdown grace period (their jobs are interrupted and
 * released back to ready at once), and the process then shuts down as it does on SIGTERM.
 */
import { Deferred, Effect } from "effect"

const quit = Effect.runSync(Deferred.make<void>())
let installed = false

/** Completes when this process was told to quit immediately. */
export const awaitQuit: Effect.Effect<void> = Deferred.await(quit)

export const isQuitting: Effect.Effect<boolean> = Deferred.isDone(quit)

export const installQuitHandler = Effect.sync(() => {
  if (installed) return
  installed = true
  process.on("SIGQUIT", () => {
    Effect.runSync(Deferred.succeed(quit, undefined))
    // `runMain` turns SIGTERM into interruption; the grace period is already cut short.
    process.kill(process.pid, "SIGTERM")
  })
})
