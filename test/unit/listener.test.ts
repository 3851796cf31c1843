import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, type Scope, TestClock } from "effect"
import { keepListening, type ListenConnection } from "../../src/internal/Listener.js"

/** Fake connections: each open is counted, and the test decides how each one fails. */
const fakes = (options: { readonly openFails?: boolean; readonly pingHangs?: boolean } = {}) =>
  Effect.gen(function*() {
    const state = { opens: 0, closes: 0, listened: 0, lost: [] as Array<Deferred.Deferred<never, unknown>> }
    const open: Effect.Effect<ListenConnection, unknown, Scope.Scope> = Effect.gen(function*() {
      state.opens++
      if (options.openFails === true) return yield* Effect.fail(new Error("connection refused"))
      const lost = yield* Deferred.make<never, unknown>()
      state.lost.push(lost)
      yield* Effect.addFinalizer(() => Effect.sync(() => state.closes++))
      return { lost: Deferred.await(lost), ping: options.pingHangs === true ? Effect.never : Effect.void }
    })
    return { state, open, listening: Effect.sync(() => state.listened++) }
  })

const settle = Effect.gen(function*() {
  for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
})

const options = { healthInterval: Duration.seconds(5), healthTimeout: Duration.seconds(2), retryDelay: Duration.millis(200), maxRetryDelay: Duration.seconds(1) }

describe("the LISTEN connection", () => {
  it.scoped("listens once opened; dropped, it is closed and opened again after the retry delay, and listens again", () =>
    Effect.gen(function*() {
      const { listening, open, state } = yield* fakes()
      yield* keepListening({ ...options, open, listening })
      yield* settle
      assert.deepStrictEqual([state.opens, state.listened], [1, 1])
      yield* Deferred.fail(state.lost[0], new Error("terminating connection due to administrator command"))
      yield* settle
      assert.deepStrictEqual([state.opens, state.closes], [1, 1], "closed at once, not opened before the delay")
      yield* TestClock.adjust("200 millis")
      yield* settle
      assert.deepStrictEqual([state.opens, state.listened], [2, 2])
    }))

  it.scoped("a health check left unanswered counts as a drop: the connection is opened again", () =>
    Effect.gen(function*() {
      const { listening, open, state } = yield* fakes({ pingHangs: true })
      yield* keepListening({ ...options, open, listening })
      yield* settle
      yield* TestClock.adjust("5 seconds")
      yield* settle
      assert.deepStrictEqual([state.opens, state.closes], [1, 0], "the check is still within its timeout")
      yield* TestClock.adjust("2 seconds")
      yield* settle
      assert.strictEqual(state.closes, 1)
      yield* TestClock.adjust("200 millis")
      yield* settle
      assert.deepStrictEqual([state.opens, state.listened], [2, 2])
    }))

  it.scoped("answered health checks keep the connection", () =>
    Effect.gen(function*() {
      const { listening, open, state } = yield* fakes()
      yield* keepListening({ ...options, open, listening })
      for (let i = 0; i < 5; i++) {
        yield* TestClock.adjust("5 seconds")
        yield* settle
      }
      assert.deepStrictEqual([state.opens, state.closes, state.listened], [1, 0, 1])
    }))

  it.scoped("a connection that cannot be opened is tried again, the delay doubling up to its cap", () =>
    Effect.gen(function*() {
      const { listening, open, state } = yield* fakes({ openFails: true })
      yield* keepListening({ ...options, open, listening })
      yield* settle
      const opensAfter = []
      for (const step of [200, 400, 800, 1000, 1000]) {
        yield* TestClock.adjust(Duration.millis(step - 1))
        yield* settle
        const before = state.opens
        yield* TestClock.adjust("1 millis")
        yield* settle
        opensAfter.push(state.opens - before)
      }
      assert.deepStrictEqual(opensAfter, [1, 1, 1, 1, 1])
      assert.strictEqual(state.listened, 0)
    }))

  it.effect("closing the scope closes the connection and stops opening", () =>
    Effect.gen(function*() {
      const { listening, open, state } = yield* fakes()
      const fiber = yield* Effect.fork(Effect.scoped(Effect.zipRight(keepListening({ ...options, open, listening }), Effect.never)))
      yield* settle
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual([state.opens, state.closes], [1, 1])
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(state.opens, 1)
    }))
})
