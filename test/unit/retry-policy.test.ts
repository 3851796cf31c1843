import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Schedule, Schema } from "effect"
import * as QueueConfig from "../../src/QueueConfig.js"
import * as Task from "../../src/Task.js"
import * as RetryPolicy from "../../src/internal/RetryPolicy.js"

const now = 1_000_000

/** The delays (ms) a policy gives after attempts 1..n, none where it stops. */
const delays = (policy: RetryPolicy.RetryPolicy, n: number, error: unknown = new Error("x")) =>
  Effect.forEach(Array.from({ length: n }, (_, i) => i + 1), (attempt) =>
    Effect.map(RetryPolicy.nextRunAt(policy, attempt, error, now), Option.map((at) => at - now)))

const policy = (options: Partial<RetryPolicy.RetryPolicy>): RetryPolicy.RetryPolicy => ({
  maxAttempts: 4,
  schedule: Schedule.exponential("1 second"),
  while: () => true,
  ...options
})

describe("retry policy", () => {
  it.effect("the time of each retry comes from the attempt number: 1 s, 2 s, 4 s, then exhausted at maxAttempts", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* delays(policy({}), 4), [Option.some(1000), Option.some(2000), Option.some(4000), Option.none()])
    }))

  it.effect("`while` refusing the error stops the retries; a throwing `while` counts as refusing", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* delays(policy({ while: () => false }), 1), [Option.none()])
      const throwing = policy({ while: () => { throw new Error("bad predicate") } })
      assert.deepStrictEqual(yield* delays(throwing, 1), [Option.none()])
    }))

  it.effect("a schedule that is done stops the retries before maxAttempts", () =>
    Effect.gen(function*() {
      const twice = policy({ maxAttempts: 10, schedule: Schedule.recurs(2) })
      assert.deepStrictEqual(yield* delays(twice, 3), [Option.some(0), Option.some(0), Option.none()])
    }))

  it.effect("the configuration's default: exponential from initialDelay, capped at maxDelay; none configured retries nothing", () =>
    Effect.gen(function*() {
      const config = yield* QueueConfig.make({ retry: { maxAttempts: 5, initialDelay: "2 seconds", factor: 3, maxDelay: "10 seconds" } })
      assert.deepStrictEqual(
        yield* delays(QueueConfig.retryPolicy(config), 5),
        [Option.some(2000), Option.some(6000), Option.some(10000), Option.some(10000), Option.none()]
      )
      assert.deepStrictEqual(yield* delays(QueueConfig.retryPolicy(yield* QueueConfig.make()), 1), [Option.none()])
    }))

  it("Task.make refuses a retry limit below 1, and a timeout or expiry that is not a positive, finite duration", () => {
    const payload = Schema.Struct({})
    assert.throws(() => Task.make("BadRetry", { payload, retry: { maxAttempts: 0 } }), /maxAttempts/)
    assert.throws(() => Task.make("BadRetry", { payload, retry: { maxAttempts: 1.5 } }), /maxAttempts/)
    assert.throws(() => Task.make("BadTimeout", { payload, timeout: 0 }), /timeout/)
    assert.throws(() => Task.make("BadExpire", { payload, expire: "-1 second" }), /expire/)
    assert.throws(() => Task.make("BadExpire", { payload, expire: Infinity }), /expire/)
  })
})
