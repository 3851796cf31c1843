import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { maxNameLength, nameProblem, queueNameProblem } from "../../src/internal/names.js"
import { checkQueueName, validateQueueName } from "../../src/internal/prepare.js"

describe("the name rule", () => {
  it("accepts any well-formed string of 1 to 255 code points without control characters", () => {
    for (const name of ["a", "default", "mail/urgent", "with space", "ünïcödé", "日本語", "\u{1F642}", "q".repeat(maxNameLength)]) {
      assert.isUndefined(nameProblem("queue name", name), name)
    }
  })

  it("counts code points, as the databases do: 255 emoji (510 UTF-16 units) fit, 256 do not", () => {
    assert.isUndefined(nameProblem("task name", "\u{1F642}".repeat(255)))
    assert.strictEqual(nameProblem("task name", "\u{1F642}".repeat(256)), "task name must be at most 255 characters, got 256")
    assert.strictEqual(nameProblem("task name", "x".repeat(1000)), "task name must be at most 255 characters, got 1000")
  })

  it("refuses a value that is not a string, and says what it got", () => {
    assert.strictEqual(nameProblem("queue name", 42), "queue name must be a string, got number")
    assert.strictEqual(nameProblem("queue name", null), "queue name must be a string, got null")
    assert.strictEqual(nameProblem("queue name", undefined), "queue name must be a string, got undefined")
    assert.strictEqual(nameProblem("concurrency key", {}), "concurrency key must be a string, got object")
  })

  it("refuses the empty string, but not whitespace", () => {
    assert.strictEqual(nameProblem("queue name", ""), "queue name must not be empty")
    assert.isUndefined(nameProblem("queue name", " "))
  })

  it("refuses C0, DEL and C1 control characters anywhere", () => {
    for (const c of ["\u0000", "\t", "\n", "\r", "\u001b", "\u001f", "\u007f", "\u0080", "\u009f"]) {
      assert.strictEqual(
        nameProblem("concurrency key", `a${c}b`),
        "concurrency key must not contain control characters (such as NUL or newline)",
        JSON.stringify(c)
      )
    }
    // The first character past C1 is printable.
    assert.isUndefined(nameProblem("concurrency key", "a\u00a0b"))
  })

  it("refuses lone surrogates, which PostgreSQL and MySQL would store as U+FFFD, but not surrogate pairs", () => {
    for (const s of ["\ud800", "\udfff", "a\ud83d", "\ude42a", "\ude42\ud83d"]) {
      assert.strictEqual(nameProblem("task name", s), "task name must be well-formed Unicode (it has a lone surrogate)", JSON.stringify(s))
    }
    assert.isUndefined(nameProblem("task name", "\ud83d\ude42"))
  })

  it("checks in order: type, emptiness, control characters, surrogates, length", () => {
    assert.match(nameProblem("queue name", "\u0000\ud800".repeat(300))!, /control characters/)
    assert.match(nameProblem("queue name", "\ud800".repeat(300))!, /lone surrogate/)
  })

  it("queue names also refuse '*', the wildcard of worker queue lists", () => {
    for (const q of ["*", "a*", "*a", "a*b"]) {
      assert.strictEqual(queueNameProblem(q), "queue name must not contain '*' (wildcards are for worker queue lists)", q)
    }
    assert.strictEqual(queueNameProblem(""), "queue name must not be empty")
    assert.strictEqual(queueNameProblem(7), "queue name must be a string, got number")
    assert.isUndefined(queueNameProblem("a-b.c:d/e"))
    assert.strictEqual(validateQueueName("a*"), queueNameProblem("a*"))
  })

  it.effect("checkQueueName fails with InvalidQueueNameError naming the queue and the rule", () =>
    Effect.gen(function*() {
      yield* checkQueueName("fine")
      const error = yield* Effect.flip(checkQueueName("bad\u0000"))
      assert.strictEqual(error._tag, "InvalidQueueNameError")
      assert.strictEqual(error.queue, "bad\u0000")
      assert.strictEqual(error.message, "queue name must not contain control characters (such as NUL or newline)")
      const notAString = yield* Effect.exit(checkQueueName(undefined as unknown as string))
      assert.isTrue(Exit.isFailure(notAString))
    }))
})
