import { assert, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Either, Option, Schema, TestClock } from "effect"
import { Admin, Errors, JobClient, Migrations, Task } from "../../src/index.js"
import type { JobRequest } from "../../src/JobClient.js"
import { type DialectName, reset, suiteLayer } from "../support/databases.js"
import * as QueueSelector from "../../src/internal/QueueSelector.js"
import { awaitFinished, count, handlers, Probe, probeHandler, recordStatements, startWorker, subscribe } from "../support/harness.js"

const Rich = Task.make("Rich", {
  payload: Schema.Struct({
    at: Schema.Date,
    wait: Schema.Duration,
    big: Schema.BigInt,
    nested: Schema.Struct({ tags: Schema.Array(Schema.String), score: Schema.optional(Schema.Number) })
  }),
  queue: "rich",
  priority: 5
})

const Keyed = Task.make("Keyed", {
  payload: Schema.Struct({ key: Schema.String }),
  concurrency: { key: (p) => p.key, limit: 2 }
})

/** What an untyped caller (plain JavaScript, a JSON body) might pass. */
type EnqueueFailure = Effect.Effect.Error<ReturnType<typeof JobClient.enqueue>>

const untyped = <A>(value: unknown) => value as A

/** The error an effect fails with, as tag, option and message. */
const failure = <A, R>(effect: Effect.Effect<A, { readonly _tag: string; readonly message: string }, R>) =>
  Effect.map(Effect.flip(effect), (e) => ({ tag: e._tag, option: "option" in e ? e.option : undefined, message: e.message }))

export const enqueueSuite = (dialect: DialectName) =>
  layer(suiteLayer(dialect), { timeout: "60 seconds" })("enqueue", (it) => {
    it.effect("migrations are idempotent", () =>
      Effect.gen(function*() {
        const again = yield* Migrations.run
        assert.deepStrictEqual(again, [])
        assert.strictEqual(yield* count("steady_queue_jobs"), 0)
      }).pipe(Effect.orDie))

    it.scoped("payloads with Date, Duration, bigint and nested structs round-trip", () =>
      Effect.gen(function*() {
        yield* reset
        const received: Array<typeof Rich.payload.Type> = []
        yield* handlers(Rich.toLayer((p) => Effect.sync(() => received.push(p))))
        const sub = yield* subscribe
        const payload = {
          at: new Date("2030-01-02T03:04:05.678Z"),
          wait: Duration.millis(1500),
          big: 2n ** 70n,
          nested: { tags: ["a", "<b>"], score: 0.5 }
        }
        const job = yield* Rich.enqueue(payload)
        assert.strictEqual(job.queueName, "rich")
        assert.strictEqual(job.priority, 5)
        yield* startWorker({ queues: ["rich"] })
        const [done] = yield* awaitFinished(sub, 1)
        assert.strictEqual(done.outcome, "succeeded")
        assert.strictEqual(received.length, 1)
        assert.strictEqual(received[0].at.toISOString(), payload.at.toISOString())
        assert.isTrue(Duration.equals(received[0].wait, payload.wait))
        assert.strictEqual(received[0].big, payload.big)
        assert.deepStrictEqual(received[0].nested, payload.nested)
      }))

    it.effect("priority outside -100..100 or not an integer is a typed error and writes nothing", () =>
      Effect.gen(function*() {
        yield* reset
        for (const priority of [101, -101, 1.5, Number.NaN]) {
          const result = yield* Effect.either(Probe.enqueue({ label: "x" }, { priority }))
          assert.isTrue(Either.isLeft(result))
          if (Either.isLeft(result)) {
            assert.strictEqual(result.left._tag, "InvalidJobOptionsError")
            if (result.left._tag === "InvalidJobOptionsError") assert.strictEqual(result.left.option, "priority")
          }
        }
        // One bad job in a bulk enqueue: nothing of the batch is written.
        const bulk = yield* Effect.either(JobClient.enqueueAll([
          Probe.job({ label: "ok" }),
          Probe.job({ label: "bad" }, { priority: 200 })
        ]))
        assert.isTrue(Either.isLeft(bulk))
        assert.strictEqual(yield* count("steady_queue_jobs"), 0)
        for (const priority of [-100, 100]) yield* Probe.enqueue({ label: "edge" }, { priority })
        assert.strictEqual(yield* count("steady_queue_jobs"), 2)
      }))

    it.effect("bad queue names, delay with runAt, and payloads that do not encode are typed errors", () =>
      Effect.gen(function*() {
        yield* reset
        const errors = yield* Effect.forEach([
          Probe.enqueue({ label: "x" }, { queue: "" }),
          Probe.enqueue({ label: "x" }, { queue: "a*" }),
          Probe.enqueue({ label: "x" }, { delay: "1 minute", runAt: new Date() }),
          Probe.enqueue({ label: "x" }, { delay: -5 }),
          Probe.enqueue({ label: 42 as unknown as string })
        ], (e) => Effect.flip(e))
        assert.deepStrictEqual(errors.map((e) => e._tag), [
          "InvalidJobOptionsError",
          "InvalidJobOptionsError",
          "InvalidJobOptionsError",
          "InvalidJobOptionsError",
          "PayloadEncodeError"
        ])
        assert.strictEqual(yield* count("steady_queue_jobs"), 0)
      }))

    it.effect("immediate jobs are ready, delayed and runAt jobs are scheduled", () =>
      Effect.gen(function*() {
        yield* reset
        yield* TestClock.setTime(Date.parse("2030-01-01T00:00:00Z"))
        const now = yield* Probe.enqueue({ label: "now" })
        const later = yield* Probe.enqueue({ label: "later" }, { delay: "5 minutes" })
        const at = yield* Probe.enqueue({ label: "at" }, { runAt: new Date("2030-01-01T01:00:00Z") })
        const past = yield* Probe.enqueue({ label: "past" }, { runAt: new Date("2029-12-31T00:00:00Z") })
        const state = (id: number) => Effect.map(JobClient.find(id), Option.map((j) => j.state))
        assert.deepStrictEqual(yield* state(now.id), Option.some("ready" as const))
        assert.deepStrictEqual(yield* state(later.id), Option.some("scheduled" as const))
        assert.deepStrictEqual(yield* state(at.id), Option.some("scheduled" as const))
        assert.deepStrictEqual(yield* state(past.id), Option.some("ready" as const))
        assert.strictEqual(later.scheduledAt.toISOString(), "2030-01-01T00:05:00.000Z")
      }))

    it.effect("bulk enqueue writes one multi-row INSERT per table per 1,000 jobs", () =>
      Effect.gen(function*() {
        yield* reset
        const requests = Array.from({ length: 2500 }, (_, i) =>
          i % 5 === 0 ? Probe.job({ label: `d${i}` }, { delay: "1 hour" }) : Probe.job({ label: `r${i}` }, { queue: `q${i % 3}` }))
        const { result, statements } = yield* recordStatements(JobClient.enqueueAll(requests))
        assert.strictEqual(result.length, 2500)
        assert.strictEqual(new Set(result.map((j) => j.id)).size, 2500)
        // PostgreSQL writes all three tables in one statement per batch; the others one statement per table.
        const inserts = (table: string) => statements.filter((s) => new RegExp(`INSERT INTO "?\`?${table}\\b`, "i").test(s))
        assert.strictEqual(inserts("steady_queue_jobs").length, 3)
        assert.strictEqual(inserts("steady_queue_ready_executions").length, dialect === "pg" ? 3 : 2)
        assert.strictEqual(inserts("steady_queue_scheduled_executions").length, dialect === "pg" ? 3 : 1)
        assert.strictEqual(yield* count("steady_queue_ready_executions"), 2000)
        assert.strictEqual(yield* count("steady_queue_scheduled_executions"), 500)
        // Ids come back in request order.
        const ids = result.map((j) => j.id)
        assert.deepStrictEqual(ids, [...ids].sort((a, b) => a - b))
      }))

    it.effect("enqueue inside the caller's transaction commits and rolls back with it", () =>
      Effect.gen(function*() {
        yield* reset
        const sql = yield* SqlClient.SqlClient
        const rolledBack = yield* Effect.either(sql.withTransaction(Effect.gen(function*() {
          yield* Probe.enqueue({ label: "in tx" })
          yield* JobClient.enqueueAll([Probe.job({ label: "bulk in tx" })])
          assert.strictEqual(yield* count("steady_queue_jobs"), 2)
          return yield* Effect.fail("app error" as const)
        })))
        assert.deepStrictEqual(rolledBack, Either.left("app error"))
        assert.strictEqual(yield* count("steady_queue_jobs"), 0)
        assert.strictEqual(yield* count("steady_queue_ready_executions"), 0)
        yield* sql.withTransaction(Probe.enqueue({ label: "committed" }))
        assert.strictEqual(yield* count("steady_queue_ready_executions"), 1)
      }))

    it.effect("negative or NaN delays, and a queue or runAt of the wrong type, are typed errors and write nothing", () =>
      Effect.gen(function*() {
        yield* reset
        const cases: ReadonlyArray<[unknown, string]> = [
          [{ delay: "-5 seconds" }, "delay"],
          [{ delay: -5 }, "delay"],
          [{ delay: Number.NaN }, "delay"],
          [{ delay: -5n }, "delay"],
          [{ delay: [-1, 0] }, "delay"],
          [{ delay: "soon" }, "delay"],
          [{ delay: Duration.infinity }, "delay"],
          [{ runAt: "tomorrow" }, "runAt"],
          [{ runAt: Date.parse("2030-01-01") }, "runAt"],
          [{ runAt: new Date(Number.NaN) }, "runAt"],
          [{ queue: 42 }, "queue"],
          [{ priority: "1" }, "priority"]
        ]
        for (const [options, option] of cases) {
          const e = yield* failure(Probe.enqueue({ label: "x" }, untyped(options)))
          assert.deepStrictEqual([e.tag, e.option], ["InvalidJobOptionsError", option], String(Object.values(options as object)))
        }
        assert.strictEqual(yield* count("steady_queue_jobs"), 0)
        // Zero is a delay; so is a Duration made from a negative number, which Effect has clamped to zero already.
        yield* Probe.enqueue({ label: "zero" }, { delay: 0 })
        yield* Probe.enqueue({ label: "clamped" }, { delay: Duration.millis(-5) })
        assert.strictEqual(yield* count("steady_queue_ready_executions"), 2)
      }))

    it.effect("names the database cannot hold are typed errors naming the rule, the same on every dialect, and write nothing", () =>
      Effect.gen(function*() {
        yield* reset
        const named = (taskName: string): JobRequest => ({ ...Probe.job({ label: "x" }), taskName })
        const cases: ReadonlyArray<[Effect.Effect<unknown, EnqueueFailure, JobClient.JobClient>, string, RegExp]> = [
          [Probe.enqueue({ label: "x" }, { queue: "a\u0000b" }), "queue", /control characters/],
          [Probe.enqueue({ label: "x" }, { queue: "a\u001b[31mb" }), "queue", /control characters/],
          [Probe.enqueue({ label: "x" }, { queue: "a\ud800b" }), "queue", /lone surrogate/],
          [Probe.enqueue({ label: "x" }, { queue: "q".repeat(256) }), "queue", /at most 255 characters, got 256/],
          [Probe.enqueue({ label: "x" }, { queue: "\u{1F642}".repeat(256) }), "queue", /at most 255 characters, got 256/],
          [JobClient.enqueue(named("a\u0000b")), "taskName", /task name must not contain control characters/],
          [JobClient.enqueue(named("t".repeat(300))), "taskName", /task name must be at most 255 characters/],
          [JobClient.enqueue(named("")), "taskName", /task name must not be empty/],
          [Keyed.enqueue({ key: "a\u0000b" }), "concurrency", /concurrency key must not contain control characters/],
          [Keyed.enqueue({ key: "\udc00" }), "concurrency", /lone surrogate/],
          [Keyed.enqueue({ key: "k".repeat(300) }), "concurrency", /concurrency key must be at most 255 characters/]
        ]
        for (const [effect, option, rule] of cases) {
          const e = yield* failure(effect)
          assert.deepStrictEqual([e.tag, e.option], ["InvalidJobOptionsError", option], e.message)
          assert.match(e.message, rule)
        }
        // In a batch, one bad name refuses the whole batch.
        const bulk = yield* failure(JobClient.enqueueAll([Probe.job({ label: "ok" }), named("bad\u0000")]))
        assert.strictEqual(bulk.option, "taskName")
        assert.strictEqual(yield* count("steady_queue_jobs"), 0)
        assert.strictEqual(yield* count("steady_queue_semaphores"), 0)

        // Pausing and resuming follow the same rule.
        for (const queue of ["a\u0000b", "a\ud800b", "q".repeat(256)]) {
          assert.strictEqual((yield* failure(Admin.pause(queue))).tag, "InvalidQueueNameError")
          assert.strictEqual((yield* failure(Admin.resume(queue))).tag, "InvalidQueueNameError")
        }
        assert.strictEqual(yield* count("steady_queue_pauses"), 0)

        // A task is checked where it is defined.
        for (const [name, options, option] of [
          ["a\u0000b", {}, "name"],
          ["n".repeat(256), {}, "name"],
          ["a\ud800", {}, "name"],
          ["Fine", { queue: "a\u0000" }, "queue"],
          ["Fine", { priority: 1000 }, "priority"],
          ["Fine", { concurrency: { key: "k", group: "g\u0000" } }, "concurrency"]
        ] as const) {
          const thrown = Either.try(() => Task.make(name, { payload: Schema.Struct({}), ...untyped<object>(options) }))
          assert.isTrue(Either.isLeft(thrown) && thrown.left instanceof Errors.InvalidTaskError, name)
          if (Either.isLeft(thrown) && thrown.left instanceof Errors.InvalidTaskError) assert.strictEqual(thrown.left.option, option)
        }
      }))

    it.scoped("a non-ASCII name of 255 code points round-trips: enqueue, find, pause, and a worker polling that exact name", () =>
      Effect.gen(function*() {
        yield* reset
        const emoji = "\u{1F642}" // two UTF-16 units, one code point
        const queue = `é${emoji.repeat(254)}`
        const taskName = `Tâche${emoji.repeat(250)}`
        const Wide = Task.make(taskName, {
          payload: Schema.Struct({ user: Schema.String }),
          queue,
          concurrency: { key: (p) => p.user, group: "g" }
        })
        const user = `ü${emoji.repeat(251)}` // "g/" + 252 = 254 code points
        const ran: Array<string> = []
        yield* handlers(Wide.toLayer((p) => Effect.sync(() => ran.push(p.user))))
        const job = yield* Wide.enqueue({ user })
        assert.strictEqual(job.queueName, queue)
        const found = yield* JobClient.find(job.id)
        assert.isTrue(Option.isSome(found))
        if (Option.isSome(found)) {
          assert.strictEqual(found.value.queueName, queue)
          assert.strictEqual(found.value.taskName, taskName)
          assert.deepStrictEqual(found.value.concurrencyKey, Option.some(`g/${user}`))
          assert.strictEqual(found.value.state, "ready")
        }
        yield* Admin.pause(queue)
        assert.deepStrictEqual(yield* Admin.pausedQueues, [queue])
        yield* Admin.resume(queue)
        assert.deepStrictEqual(yield* Admin.pausedQueues, [])
        const sub = yield* subscribe
        yield* startWorker({ queues: [queue] })
        const [done] = yield* awaitFinished(sub, 1)
        assert.strictEqual(done.outcome, "succeeded")
        assert.deepStrictEqual(ran, [user])
      }))

    it.scoped("a worker given an empty queue list polls every queue, as with no list; invalid names in a list are ignored", () =>
      Effect.gen(function*() {
        yield* reset
        const ran: Array<string> = []
        yield* handlers(probeHandler(ran))
        yield* JobClient.enqueueAll([Probe.job({ label: "a" }, { queue: "one" }), Probe.job({ label: "b" }, { queue: "two" })])
        const sub = yield* subscribe
        yield* startWorker({ queues: [] })
        yield* awaitFinished(sub, 2)
        assert.deepStrictEqual([...ran].sort(), ["a", "b"])
        const parsed = QueueSelector.parse(["ok", "a\u0000b", "x\ud800*", "q".repeat(256), "a*b"])
        assert.deepStrictEqual(parsed.entries, [{ _tag: "Exact", name: "ok" }])
        assert.deepStrictEqual(parsed.ignored, ["a?b", "x\ud800*", "q".repeat(256), "a*b"])
      }))
  })
