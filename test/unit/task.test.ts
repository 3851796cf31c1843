import { assert, describe, it } from "@effect/vitest"
import { Duration, Either, Schema } from "effect"
import { InvalidTaskError } from "../../src/Errors.js"
import * as Task from "../../src/Task.js"

const payload = Schema.Struct({ id: Schema.Number })

/** What `Task.make` throws for these options, or undefined when it defines the task. */
const thrown = (name: string, options: object = {}) => {
  const result = Either.try({
    try: () => Task.make(name, { payload, ...options }),
    catch: (e) => e
  })
  if (Either.isRight(result)) return undefined
  assert.instanceOf(result.left, InvalidTaskError)
  return result.left as InvalidTaskError
}

describe("Task.make", () => {
  it("fills in the default queue, priority and concurrency settings", () => {
    const Plain = Task.make("Plain", { payload })
    assert.deepStrictEqual([Plain.name, Plain.queue, Plain.priority], ["Plain", "default", 0])
    assert.strictEqual(Task.defaultQueue, "default")
    const request = Plain.job({ id: 1 })
    assert.deepInclude(request, { taskName: "Plain", queue: "default", priority: 0, concurrency: undefined })
    assert.deepStrictEqual(request.encodePayload(), Either.right("{\"id\":1}"))

    const Limited = Task.make("Limited", { payload, concurrency: { key: "all" } })
    assert.deepStrictEqual(Limited.job({ id: 1 }).concurrency, {
      key: "Limited/all",
      limit: 1,
      durationMs: Duration.toMillis(Task.defaultConcurrencyControlPeriod)
    })
    assert.strictEqual(Duration.toMillis(Task.defaultConcurrencyControlPeriod), 180_000)
  })

  it("a key function is applied to each payload; the group replaces the task's name in the key", () => {
    const Grouped = Task.make("Grouped", {
      payload,
      queue: "q",
      priority: -7,
      concurrency: { key: (p) => `account-${p.id}`, group: "accounts", limit: 3, duration: "1 minute" }
    })
    assert.deepStrictEqual(Grouped.job({ id: 5 }).concurrency, { key: "accounts/account-5", limit: 3, durationMs: 60_000 })
    assert.strictEqual(Grouped.job({ id: 6 }).concurrency?.key, "accounts/account-6")
    // Enqueue options win over the task's defaults; the options are kept for delay and runAt.
    const request = Grouped.job({ id: 5 }, { queue: "other", priority: 9, delay: "1 second" })
    assert.deepInclude(request, { queue: "other", priority: 9 })
    assert.deepStrictEqual(request.options, { queue: "other", priority: 9, delay: "1 second" })
  })

  it("a payload the schema cannot encode is a PayloadEncodeError from encodePayload, not a throw", () => {
    const request = Task.make("Typed", { payload }).job({ id: "one" as unknown as number })
    const encoded = request.encodePayload()
    assert.isTrue(Either.isLeft(encoded) && encoded.left._tag === "PayloadEncodeError" && encoded.left.taskName === "Typed")
  })

  it("a bad name is an InvalidTaskError naming the task, the option and the rule", () => {
    const error = thrown("bad\nname")!
    assert.deepInclude(error, { _tag: "InvalidTaskError", taskName: "bad\nname", option: "name" })
    assert.strictEqual(error.message, "task \"bad\\nname\": task name must not contain control characters (such as NUL or newline)")
    assert.strictEqual(thrown("")?.message, "task \"\": task name must not be empty")
    assert.match(thrown("n".repeat(256))!.message, /task name must be at most 255 characters, got 256$/)
    assert.strictEqual(thrown("\ud800")?.option, "name")
    assert.strictEqual(thrown(42 as unknown as string)?.taskName, "42")
    assert.isUndefined(thrown("n".repeat(255)))
    assert.isUndefined(thrown("Mailer::Deliver/v2 \u{1F642}"))
  })

  it("a bad default queue is refused, '*' included", () => {
    for (const queue of ["", "mail*", "a\u0000", "q".repeat(256), 7]) {
      assert.strictEqual(thrown("T", { queue })?.option, "queue", String(queue))
    }
    assert.strictEqual(thrown("T", { queue: "mail*" })?.message, "task \"T\": queue name must not contain '*' (wildcards are for worker queue lists)")
    assert.isUndefined(thrown("T", { queue: "mail" }))
  })

  it("a default priority outside -100..100 or not an integer is refused", () => {
    for (const priority of [101, -101, 0.5, Number.NaN, "1"]) {
      assert.strictEqual(thrown("T", { priority })?.message, `task "T": priority must be an integer from -100 to 100, got ${priority}`)
    }
    for (const priority of [-100, 100]) assert.isUndefined(thrown("T", { priority }))
  })

  it("a fixed concurrency key, with its group, is checked where the task is defined; a computed one is not", () => {
    assert.strictEqual(thrown("T", { concurrency: { key: "a\u0000" } })?.option, "concurrency")
    assert.strictEqual(thrown("T", { concurrency: { key: "k", group: "g\u007f" } })?.option, "concurrency")
    // "T/" and the key: 253 characters are left for it.
    assert.isUndefined(thrown("T", { concurrency: { key: "k".repeat(253) } }))
    assert.match(thrown("T", { concurrency: { key: "k".repeat(254) } })!.message, /concurrency key must be at most 255 characters, got 256$/)
    assert.isUndefined(thrown("T", { concurrency: { key: () => "\u0000" } }))
  })

  it("the name is checked first, then the queue, then the priority", () => {
    assert.strictEqual(thrown("", { queue: "", priority: 1000 })?.option, "name")
    assert.strictEqual(thrown("T", { queue: "", priority: 1000 })?.option, "queue")
  })

  it("a concurrency limit below 1 or not whole, or a duration of zero, is refused where the task is defined", () => {
    for (const limit of [0, -1, 1.5, Number.NaN]) {
      const error = thrown("Limits", { concurrency: { key: "k", limit } })
      assert.strictEqual(error?.option, "concurrency", `limit ${limit}`)
      assert.match(error?.message ?? "", /concurrency limit must be a whole number of at least 1/)
    }
    assert.match(thrown("Lasts", { concurrency: { key: "k", duration: 0 } })?.message ?? "", /duration must be a positive, finite duration/)
    assert.strictEqual(thrown("Fine", { concurrency: { key: "k", limit: 3, duration: "1 minute" } }), undefined)
  })
})
