import { assert, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Either, Option, Schema, TestClock } from "effect"
import { JobClient, Migrations, Task } from "../../src/index.js"
import { type DialectName, reset, suiteLayer } from "../support/databases.js"
import { awaitFinished, count, handlers, Probe, recordStatements, startWorker, subscribe } from "../support/harness.js"

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
  })
