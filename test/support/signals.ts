/**
 * Signal tests in this process: no other listener on the signals steady-queue handles, `process.kill` stubbed
 * (signals are emitted, never sent), and the process's own listeners put back after.
 */
import { Effect } from "effect"
import { type MockInstance, vi } from "vitest"

export const handled = ["SIGINT", "SIGTERM", "SIGQUIT"] as const

export const listenerCounts = () => handled.map((signal) => process.listenerCount(signal))

export const isolated = <A, E, R>(body: (kill: MockInstance<typeof process.kill>) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const saved = handled.map((signal) => [signal, process.listeners(signal)] as const)
      for (const signal of handled) process.removeAllListeners(signal)
      return { saved, kill: vi.spyOn(process, "kill").mockImplementation(() => true) }
    }),
    ({ kill }) => body(kill),
    ({ kill, saved }) =>
      Effect.sync(() => {
        kill.mockRestore()
        for (const [signal, listeners] of saved) {
          process.removeAllListeners(signal)
          for (const l of listeners) process.on(signal, l)
        }
      })
  )
