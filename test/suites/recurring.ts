import { assert, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Effect, Either, Layer, Schema, TestClock } from "effect"
import { Recurring, Scheduler, Task } from "../../src/index.js"
import { type DialectName, reset, suiteLayer } from "../support/databases.js"
import { count, eventually, Probe } from "../support/harness.js"

const runs = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ task_key: string; run_at: number | string }>`
    SELECT task_key, run_at FROM steady_queue_recurring_executions ORDER BY run_at, task_key`).pipe(
  Effect.map((rows) => rows.map((r) => `${r.task_key} ${new Date(Number(r.run_at)).toISOString()}`)),
  Effect.orDie
)

const waitForRuns = (n: number) => eventually(Effect.map(count("steady_queue_recurring_executions"), (k) => k === n))

const Limited = Task.make("LimitedRecurring", {
  payload: Schema.Struct({ label: Schema.String }),
  concurrency: { key: "only-one" }
})

const every5 = Recurring.make({ key: "every-5", schedule: "*/5 * * * *", task: Probe, payload: { label: "tick" } })

export const recurringSuite = (dialect: DialectName) =>
  layer(suiteLayer(dialect), { timeout: "60 seconds" })("recurring", (it) => {
    it.effect("schedules are validated: 5 or 6 fields, names, aliases, time zones; errors name the key", () =>
      Effect.gen(function*() {
        for (const schedule of ["*/5 * * * *", "0 0 9 * * MON-FRI", "0 12 1 JAN *", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]) {
          assert.isTrue(Either.isRight(Recurring.define({ key: "k", schedule, task: Probe, payload: { label: "x" } })), schedule)
        }
        for (const [schedule, timeZone] of [["61 * * * *"], ["* * *"], ["@sometimes"], ["0 9 * * *", "Mars/Base"]] as const) {
          const result = Recurring.define({ key: "broken", schedule, ...(timeZone ? { timeZone } : {}), task: Probe, payload: { label: "x" } })
          assert.isTrue(Either.isLeft(result) && result.left.key === "broken" && result.left.message.includes("broken"), schedule)
        }
        const duplicate = yield* Effect.flip(Layer.build(Layer.mergeAll(
          every5,
          Recurring.make({ key: "every-5", schedule: "@hourly", task: Probe, payload: { label: "other" } })
        )).pipe(Effect.scoped))
        assert.strictEqual(duplicate._tag, "InvalidRecurringTaskError")
        assert.include(duplicate.message, "every-5")
        assert.include(duplicate.message, "*/5 * * * *")
        assert.include(duplicate.message, "@hourly")
      }))

    it.scoped("static tasks are upserted at start, stale static ones removed, dynamic ones kept", () =>
      Effect.gen(function*() {
        yield* reset
        const sql = yield* SqlClient.SqlClient
        yield* Recurring.add({ key: "dynamic", schedule: "@daily", task: Probe, payload: { label: "d" } })
        yield* sql`INSERT INTO steady_queue_recurring_tasks (${sql("key")}, schedule, task_name, arguments, ${sql("static")}, created_at, updated_at)
                   VALUES ('stale', '@daily', 'Probe', '{}', ${dialect === "pg" ? true : 1}, 0, 0)`
        yield* Layer.build(every5)
        yield* Scheduler.start()
        const tasks = yield* Recurring.list
        assert.deepStrictEqual(tasks.map((t) => [t.key, t.static]), [["dynamic", false], ["every-5", true]])
        assert.strictEqual(tasks[1].arguments, JSON.stringify({ label: "tick" }))
        assert.strictEqual(tasks[1].queueName, "default")
      }))

    it.scoped("three racing schedulers enqueue each run exactly once", () =>
      Effect.gen(function*() {
        yield* reset
        yield* TestClock.setTime(Date.parse("2030-01-01T00:01:00Z"))
        yield* Layer.build(every5)
        for (let i = 0; i < 3; i++) yield* Scheduler.start({ pollingInterval: "1 hour" })
        for (let tick = 1; tick <= 3; tick++) {
          yield* TestClock.adjust("5 minutes")
          yield* waitForRuns(tick)
        }
        assert.deepStrictEqual(yield* runs, [
          "every-5 2030-01-01T00:05:00.000Z",
          "every-5 2030-01-01T00:10:00.000Z",
          "every-5 2030-01-01T00:15:00.000Z"
        ])
        assert.strictEqual(yield* count("steady_queue_jobs"), 3)
        assert.strictEqual(yield* count("steady_queue_ready_executions"), 3)
      }))

    it.scoped("across a day boundary and a DST change, in the task's time zone", () =>
      Effect.gen(function*() {
        yield* reset
        // Berlin moves to summer time on 2030-03-31: 09:00 local is 08:00Z before and 07:00Z after.
        yield* TestClock.setTime(Date.parse("2030-03-29T23:59:00Z"))
        yield* Layer.build(Layer.mergeAll(
          Recurring.make({ key: "midnight", schedule: "@midnight", task: Probe, payload: { label: "m" } }),
          Recurring.make({ key: "berlin", schedule: "0 9 * * *", timeZone: "Europe/Berlin", task: Probe, payload: { label: "b" } })
        ))
        yield* Scheduler.start({ pollingInterval: "1 day", heartbeatInterval: "1 day" })
        const steps = ["2 minutes", "8 hours", "16 hours", "7 hours", "24 hours"] as const
        const expected = [1, 2, 3, 4, 6]
        for (let i = 0; i < steps.length; i++) {
          yield* TestClock.adjust(steps[i])
          yield* waitForRuns(expected[i])
        }
        assert.deepStrictEqual(yield* runs, [
          "midnight 2030-03-30T00:00:00.000Z",
          "berlin 2030-03-30T08:00:00.000Z",
          "midnight 2030-03-31T00:00:00.000Z",
          "berlin 2030-03-31T07:00:00.000Z",
          "midnight 2030-04-01T00:00:00.000Z",
          "berlin 2030-04-01T07:00:00.000Z"
        ])
      }))

    it.scoped("runs missed while no scheduler ran are skipped; the next upcoming one is enqueued", () =>
      Effect.gen(function*() {
        yield* reset
        yield* TestClock.setTime(Date.parse("2030-01-01T00:00:30Z"))
        yield* Layer.build(Recurring.make({ key: "hourly", schedule: "@hourly", task: Probe, payload: { label: "h" } }))
        // Down for three hours: 01:00, 02:00 and 03:00 pass with no scheduler.
        yield* TestClock.adjust("3 hours")
        yield* Scheduler.start({ pollingInterval: "1 day" })
        yield* TestClock.adjust("1 hour")
        yield* waitForRuns(1)
        assert.deepStrictEqual(yield* runs, ["hourly 2030-01-01T04:00:00.000Z"])
      }))

    it.scoped("dynamic tasks are picked up and dropped without a restart", () =>
      Effect.gen(function*() {
        yield* reset
        yield* TestClock.setTime(Date.parse("2030-01-01T00:00:10Z"))
        yield* Scheduler.start({ pollingInterval: "10 seconds" })
        yield* Recurring.add({ key: "dyn", schedule: "* * * * *", task: Probe, payload: { label: "dyn" }, queue: "dynamic" })
        yield* TestClock.adjust("10 seconds") // the scheduler re-reads its tasks
        yield* TestClock.adjust("40 seconds") // 00:01:00
        yield* waitForRuns(1)
        assert.strictEqual(yield* count("steady_queue_ready_executions", "queue_name = 'dynamic'"), 1)
        assert.isTrue(yield* Recurring.remove("dyn"))
        assert.isFalse(yield* Recurring.remove("dyn"))
        yield* TestClock.adjust("10 seconds")
        yield* TestClock.adjust("2 minutes")
        assert.strictEqual(yield* count("steady_queue_recurring_executions"), 1)
      }))

    it.scoped("runs of a limited task go through its semaphore", () =>
      Effect.gen(function*() {
        yield* reset
        yield* TestClock.setTime(Date.parse("2030-01-01T00:00:30Z"))
        yield* Layer.build(Recurring.make({ key: "limited", schedule: "* * * * *", task: Limited, payload: { label: "l" } }))
        yield* Scheduler.start({ pollingInterval: "1 day" })
        yield* TestClock.adjust("30 seconds")
        yield* waitForRuns(1)
        yield* TestClock.adjust("1 minute")
        yield* waitForRuns(2)
        // No worker runs them: the first holds the only slot, the second waits.
        assert.strictEqual(yield* count("steady_queue_ready_executions"), 1)
        assert.strictEqual(yield* count("steady_queue_blocked_executions"), 1)
      }))
  })
