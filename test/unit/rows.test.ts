import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { decodeInsertedJobRows, decodeJobRows } from "../../src/internal/sql/rows.js"

const claimed = {
  id: "7",
  public_id: "p-7",
  queue_name: "default",
  task_name: "t",
  arguments: "{}",
  priority: 0,
  attempts: "1",
  scheduled_at: "1000",
  created_at: 1000,
  concurrency_key: null,
  concurrency_limit: null,
  concurrency_duration: null
}

describe("rows as drivers return them", () => {
  it.effect("an enqueue's ids: strings (PostgreSQL's BIGINT) and numbers alike; anything else fails the statement", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* decodeInsertedJobRows([{ id: "12", public_id: "a" }, { id: 13, public_id: "b" }]), [
        { id: 12, public_id: "a" },
        { id: 13, public_id: "b" }
      ])
      const bad = yield* Effect.either(decodeInsertedJobRows([{ id: "12", public_id: "a" }, { id: "x", public_id: "b" }]))
      assert.isTrue(Either.isLeft(bad) && bad.left._tag === "ParseError")
      assert.isTrue(Either.isLeft(yield* Effect.either(decodeInsertedJobRows({ id: 1 }))))
    }))

  it.effect("claimed jobs the same way", () =>
    Effect.gen(function*() {
      const [row] = yield* decodeJobRows([claimed])
      assert.strictEqual(row.id, 7)
      assert.strictEqual(row.attempts, 1)
      assert.strictEqual(row.scheduled_at, 1000)
      const bad = yield* Effect.either(decodeJobRows([{ ...claimed, priority: "high" }]))
      assert.isTrue(Either.isLeft(bad) && bad.left._tag === "ParseError")
    }))
})
