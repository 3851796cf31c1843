/**
 * The limited task of the frozen-worker test, shared by the test and its child program (key "frozen", limit 1),
 * and its handler: it logs `started`, a `tick` every 50 ms for 5 s, then `done`, or `interrupted` if it is
 * stopped; each line with the label, the pid and the wall-clock time.
 */
import { Effect, Schema } from "effect"
import { Task } from "../../src/index.js"

export const Frozen = Task.make("FrozenLimited", {
  payload: Schema.Struct({ label: Schema.String }),
  concurrency: { key: "frozen", limit: 1, duration: "1 minute" }
})

export const frozenHandler = (log: (line: string) => void) =>
  Frozen.toLayer(({ label }) => {
    const line = (what: string) => Effect.sync(() => log(`${what} ${label} ${process.pid} ${Date.now()}`))
    return line("started").pipe(
      Effect.zipRight(Effect.repeatN(Effect.zipRight(Effect.sleep("50 millis"), line("tick")), 99)),
      Effect.zipRight(line("done")),
      Effect.onInterrupt(() => line("interrupted"))
    )
  })
