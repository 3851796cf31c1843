import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as QueueSelector from "../../src/internal/QueueSelector.js"

/** Ready queue names by prefix, as the store would answer, recording what it was asked. */
const readyQueues = (names: ReadonlyArray<string>) => {
  const asked: Array<string | undefined> = []
  const lookup = (prefix: string | undefined) =>
    Effect.sync(() => {
      asked.push(prefix)
      return names.filter((n) => prefix === undefined || n.startsWith(prefix))
    })
  return { asked, lookup }
}

const resolve = (queues: ReadonlyArray<string>, paused: ReadonlyArray<string>, ready: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const store = readyQueues(ready)
    const selection = yield* QueueSelector.resolve(QueueSelector.parse(queues), paused, store.lookup)
    return { selection, asked: store.asked }
  })

const list = (...names: Array<string>) => ({ _tag: "List", names }) as const

describe("queue selection: parse", () => {
  it("an empty list and '*' both mean every queue", () => {
    assert.deepStrictEqual(QueueSelector.parse([]), { all: true, entries: [], ignored: [] })
    assert.deepStrictEqual(QueueSelector.parse(["*"]), { all: true, entries: [], ignored: [] })
    assert.isTrue(QueueSelector.parse(["a", " * ", "b*"]).all)
  })

  it("exact names and prefixes keep their order; whitespace around an entry is trimmed", () => {
    assert.deepStrictEqual(QueueSelector.parse(["  real_time ", "mail*", "background", "b*"]).entries, [
      { _tag: "Exact", name: "real_time" },
      { _tag: "Prefix", prefix: "mail" },
      { _tag: "Exact", name: "background" },
      { _tag: "Prefix", prefix: "b" }
    ])
  })

  it("a '*' anywhere but at the end, an empty entry and a name no queue can have are ignored", () => {
    const parsed = QueueSelector.parse(["*mail", "ma*il", "a**", "", "   ", "ok", "q".repeat(256), "\ud800", "p".repeat(255) + "*"])
    assert.deepStrictEqual(parsed.entries, [{ _tag: "Exact", name: "ok" }])
    assert.deepStrictEqual(parsed.ignored, ["*mail", "ma*il", "a**", "", "   ", "q".repeat(256), "\ud800", "p".repeat(255) + "*"])
    assert.isFalse(parsed.all)
  })

  it("a prefix is held to the name rule as the names it matches would be: 254 characters and a '*' are fine", () => {
    assert.deepStrictEqual(QueueSelector.parse(["p".repeat(254) + "*"]).entries, [{ _tag: "Prefix", prefix: "p".repeat(254) }])
    assert.deepStrictEqual(QueueSelector.parse(["\u{1F642}".repeat(255)]).entries, [{ _tag: "Exact", name: "\u{1F642}".repeat(255) }])
  })

  it("ignored entries are shown with control characters as '?', since the list is logged", () => {
    assert.deepStrictEqual(QueueSelector.parse(["a\u0000b", "c\nd*", "e\u001b[31m", "f\u009b"]).ignored, ["a?b", "c?d*", "e?[31m", "f?"])
  })

  it("an entry that is not a string (a configuration file's mistake) is ignored, not thrown on", () => {
    const parsed = QueueSelector.parse([42, null] as unknown as Array<string>)
    assert.deepStrictEqual(parsed, { all: false, entries: [], ignored: ["42", "null"] })
  })
})

describe("queue selection: resolve", () => {
  it.effect("every queue with nothing paused needs no lookup", () =>
    Effect.gen(function*() {
      const { asked, selection } = yield* resolve(["*"], [], ["a", "b"])
      assert.deepStrictEqual(selection, { _tag: "All" })
      assert.deepStrictEqual(asked, [])
    }))

  it.effect("every queue with some paused lists the ready queues without the paused ones", () =>
    Effect.gen(function*() {
      const { asked, selection } = yield* resolve([], ["b"], ["a", "b", "c"])
      assert.deepStrictEqual(selection, list("a", "c"))
      assert.deepStrictEqual(asked, [undefined])
    }))

  it.effect("every queue, all of them paused, is an empty list (nothing to poll), not every queue", () =>
    Effect.gen(function*() {
      const { selection } = yield* resolve(["*"], ["a", "b"], ["a", "b"])
      assert.deepStrictEqual(selection, list())
    }))

  it.effect("exact names are polled in the order given, with or without ready jobs, and need no lookup", () =>
    Effect.gen(function*() {
      const { asked, selection } = yield* resolve(["c", "a", "zzz"], [], ["a", "b", "c"])
      assert.deepStrictEqual(selection, list("c", "a", "zzz"))
      assert.deepStrictEqual(asked, [])
    }))

  it.effect("prefixes expand to the ready queues that start with them, in place, each name once", () =>
    Effect.gen(function*() {
      const { asked, selection } = yield* resolve(["mail_urgent", "mail*", "b*", "mail_bulk", "x*"], [], [
        "mail_bulk",
        "mail_urgent",
        "background",
        "mailer"
      ])
      assert.deepStrictEqual(selection, list("mail_urgent", "mail_bulk", "mailer", "background"))
      assert.deepStrictEqual(asked, ["mail", "b", "x"])
    }))

  it.effect("paused queues are left out of exact names and prefixes alike", () =>
    Effect.gen(function*() {
      const { selection } = yield* resolve(["a", "m*", "z"], ["a", "m2", "unrelated"], ["m1", "m2", "m3"])
      assert.deepStrictEqual(selection, list("m1", "m3", "z"))
    }))

  it.effect("a list with only ignored entries polls nothing", () =>
    Effect.gen(function*() {
      const { asked, selection } = yield* resolve(["a*b"], [], ["a", "ab"])
      assert.deepStrictEqual(selection, list())
      assert.deepStrictEqual(asked, [])
    }))

  it.effect("a failed lookup fails the poll with its error", () =>
    Effect.gen(function*() {
      const failure = new Error("lookup failed")
      // Whatever the store's error type is, the selector passes it on as it is.
      const failing = (() => Effect.fail(failure)) as unknown as Parameters<typeof QueueSelector.resolve>[2]
      const result = yield* Effect.flip(QueueSelector.resolve(QueueSelector.parse(["x", "a*"]), [], failing))
      assert.strictEqual(result, failure)
    }))
})
