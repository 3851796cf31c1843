import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Layer, Option, Scope } from "effect"
import { isolated, listenerCounts } from "../support/signals.js"
import { awaitQuit, isQuitting, ShutdownSignals } from "../../src/internal/Signals.js"

/** Builds the layer in a scope of its own, to be closed by the test. */
const build = (escalates: boolean) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(ShutdownSignals.layer({ escalates }), scope)
    return { scope, signals: Context.get(context, ShutdownSignals) }
  })

/** Stands for `NodeRuntime.runMain`: one listener for both stop signals, removed when it first runs. */
const runMainLike = () => {
  const onSignal = () => {
    process.removeListener("SIGINT", onSignal)
    process.removeListener("SIGTERM", onSignal)
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
}

describe("ShutdownSignals.layer", () => {
  it.effect("installs its listeners when built, ahead of the program's, and removes them when its scope closes", () =>
    isolated(() =>
      Effect.gen(function*() {
        const program = () => {}
        process.on("SIGTERM", program)
        const { scope } = yield* build(true)
        assert.deepStrictEqual(listenerCounts(), [1, 2, 1])
        assert.notStrictEqual(process.listeners("SIGTERM")[0], program)
        yield* Scope.close(scope, Exit.void)
        assert.deepStrictEqual(listenerCounts(), [0, 1, 0])
        assert.strictEqual(process.listeners("SIGTERM")[0], program)
      })
    ))

  it.effect("each build has a quit state of its own: a later supervisor starts afresh", () =>
    isolated(() =>
      Effect.gen(function*() {
        const first = yield* build(true)
        process.emit("SIGQUIT")
        assert.isTrue(yield* Deferred.isDone(first.signals.quit))
        yield* Scope.close(first.scope, Exit.void)
        const second = yield* build(true)
        assert.isFalse(yield* Deferred.isDone(second.signals.quit))
        yield* Scope.close(second.scope, Exit.void)
      })
    ))

  it.effect("two supervisors in one process: SIGQUIT quits both and asks runMain to stop once", () =>
    isolated((kill) =>
      Effect.gen(function*() {
        runMainLike()
        const a = yield* build(true)
        const b = yield* build(true)
        process.emit("SIGQUIT")
        assert.isTrue(yield* Deferred.isDone(a.signals.quit))
        assert.isTrue(yield* Deferred.isDone(b.signals.quit))
        assert.deepStrictEqual(kill.mock.calls, [[process.pid, "SIGTERM"]])
        yield* Scope.close(b.scope, Exit.void)
        yield* Scope.close(a.scope, Exit.void)
      })
    ))

  it.effect("two supervisors under runMain: the first SIGINT is runMain's for both, the second quits both", () =>
    isolated((kill) =>
      Effect.gen(function*() {
        runMainLike()
        const a = yield* build(true)
        const b = yield* build(false)
        process.emit("SIGINT")
        assert.isFalse(yield* Deferred.isDone(a.signals.quit))
        process.emit("SIGINT")
        assert.isTrue(yield* Deferred.isDone(a.signals.quit))
        // A forked child's leaves it to its supervisor's SIGQUIT.
        assert.isFalse(yield* Deferred.isDone(b.signals.quit))
        assert.strictEqual(kill.mock.calls.length, 0)
        yield* Scope.close(a.scope, Exit.void)
        yield* Scope.close(b.scope, Exit.void)
        assert.deepStrictEqual(listenerCounts(), [0, 0, 0])
      })
    ))

  it.effect("two supervisors and no runMain: a stop signal gets its default action, raised once both have let go", () =>
    isolated((kill) =>
      Effect.gen(function*() {
        const a = yield* build(true)
        const b = yield* build(true)
        process.emit("SIGTERM")
        assert.deepStrictEqual(listenerCounts(), [0, 0, 0])
        assert.deepStrictEqual(kill.mock.calls, [[process.pid, "SIGTERM"]])
        yield* Scope.close(a.scope, Exit.void)
        yield* Scope.close(b.scope, Exit.void)
      })
    ))

  it.effect("awaitQuit and isQuitting read the supervisor's state from the context; outside one there is none", () =>
    isolated(() =>
      Effect.gen(function*() {
        assert.isFalse(yield* isQuitting)
        assert.isTrue(Option.isNone(yield* Effect.timeoutOption(awaitQuit, 0)), "never quits")
        yield* Effect.gen(function*() {
          assert.isFalse(yield* isQuitting)
          process.emit("SIGQUIT")
          yield* awaitQuit
          assert.isTrue(yield* isQuitting)
        }).pipe(Effect.provide(ShutdownSignals.layer({ escalates: true })))
        // Provided to an effect, the layer lives as long as that effect.
        assert.deepStrictEqual(listenerCounts(), [0, 0, 0])
      })
    ))
})
