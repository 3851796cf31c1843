import { assert, layer } from "@effect/vitest"
import { Clock, Deferred, Effect, Layer, Option, Schema, TestClock, TestServices } from "effect"
import { Dispatcher, JobClient, SteadyQueue, Task, Worker } from "../../src/index.js"
import { Store } from "../../src/internal/Store.js"
import { clientLayer, Db, type DialectName, reset, suiteLayer } from "../support/databases.js"
import { count, eventually, handlers, recordStatements, startWorker } from "../support/harness.js"

const Payload = Schema.Struct({ key: Schema.String, n: Schema.Number })
const One = Task.make("LimitedToOne", { payload: Payload, concurrency: { key: (p) => p.key, limit: 1 } })
const Two = Task.make("LimitedToTwo", { payload: Payload, concurrency: { key: (p) => p.key, limit: 2 } })
// Two tasks sharing one limit through their group.
const Contact = Task.make("ContactAction", { payload: Payload, concurrency: { key: (p) => p.key, group: "contacts" } })
const Bundle = Task.make("BundleAction", { payload: Payload, concurrency: { key: (p) => p.key, group: "contacts" } })
const Slow = Task.make("SlowLimited", { payload: Payload, concurrency: { key: "shared", limit: 1, duration: "1 minute" } })

/** Counts jobs running at once per limit key, from inside the handlers. */
const overlapMeter = () => {
  const running = new Map<string, number>()
  const peak = new Map<string, number>()
  let ran = 0
  const measure = (group: string) => (p: typeof Payload.Type) =>
    Effect.gen(function*() {
      const k = `${group}/${p.key}`
      running.set(k, (running.get(k) ?? 0) + 1)
      peak.set(k, Math.max(peak.get(k) ?? 0, running.get(k)!))
      yield* TestServices.provideLive(Effect.sleep("3 millis"))
      running.set(k, running.get(k)! - 1)
      ran++
    })
  return { measure, peak, ran: () => ran }
}

const settled = Effect.gen(function*() {
  const left = (yield* count("steady_queue_ready_executions")) + (yield* count("steady_queue_blocked_executions")) +
    (yield* count("steady_queue_claimed_executions"))
  return left === 0
})

export const concurrencySuite = (dialect: DialectName) =>
  layer(suiteLayer(dialect), { timeout: "120 seconds" })("concurrency controls", (it) => {
    it.effect("4 workers x 8 threads: limits of 1 and 2 per key hold, also across a group; every job runs, none stays blocked", () =>
      Effect.gen(function*() {
        yield* reset
        const db = yield* Db
        const meter = overlapMeter()
        const taskHandlers = Layer.mergeAll(
          One.toLayer(meter.measure("one")),
          Two.toLayer(meter.measure("two")),
          Contact.toLayer(meter.measure("contacts")),
          Bundle.toLayer(meter.measure("contacts"))
        )
        const jobs = [0, 1, 2].flatMap((k) =>
          Array.from({ length: 12 }, (_, n) => {
            const p = { key: `k${k}`, n }
            return [One.job(p), Two.job(p), n % 2 === 0 ? Contact.job(p) : Bundle.job(p)]
          }).flat()
        )
        yield* JobClient.enqueueAll(jobs)
        assert.isAbove(yield* count("steady_queue_blocked_executions"), 0)
        for (let i = 0; i < 4; i++) {
          const context = yield* Layer.build(
            taskHandlers.pipe(Layer.provideMerge(SteadyQueue.layer().pipe(Layer.provide(clientLayer(db)), Layer.orDie)))
          )
          yield* Worker.start({ threads: 8, pollingInterval: "10 millis" }).pipe(Effect.provide(context))
        }
        yield* eventually(Effect.map(count("steady_queue_jobs", "finished_at IS NOT NULL"), (n) => n === jobs.length))
        assert.strictEqual(meter.ran(), jobs.length)
        for (const [k, peak] of meter.peak) assert.isAtMost(peak, k.startsWith("two/") ? 2 : 1, k)
        // The limit of 2 was really used.
        assert.isTrue([...meter.peak].some(([k, peak]) => k.startsWith("two/") && peak === 2))
        assert.isTrue(yield* settled)
      }).pipe(Effect.scoped, TestServices.provideLive), 120_000)

    it.effect("bulk enqueue takes each key's semaphore once per batch, not once per job", () =>
      Effect.gen(function*() {
        yield* reset
        const requests = Array.from({ length: 100 }, (_, n) => Two.job({ key: `k${n % 2}`, n }))
        const { statements } = yield* recordStatements(JobClient.enqueueAll(requests))
        assert.isAtMost(statements.filter((s) => s.includes("steady_queue_semaphores")).length, 2 * 3)
        assert.strictEqual(yield* count("steady_queue_ready_executions"), 4)
        assert.strictEqual(yield* count("steady_queue_blocked_executions"), 96)
      }))

    it.scoped("a worker killed while holding a slot: the slot comes back after `duration`, through maintenance", () =>
      Effect.gen(function*() {
        yield* reset
        const store = yield* Store
        const started: Array<number> = []
        yield* handlers(Slow.toLayer((p) => Effect.sync(() => started.push(p.n))))
        const held = yield* Slow.enqueue({ key: "x", n: 0 })
        const waiting = yield* Slow.enqueue({ key: "x", n: 1 })
        // A worker claimed the first job and was killed: its claim and its slot stay behind.
        const now = yield* Clock.currentTimeMillis
        const ghost = yield* store.processes.register(
          { kind: "Worker", name: "killed", pid: 999_999, hostname: "gone", supervisorId: null, metadata: "{}" },
          now
        ).pipe(Effect.orDie)
        assert.deepStrictEqual((yield* store.claim(undefined, 1, ghost, now).pipe(Effect.orDie)).map((r) => r.id), [held.id])
        yield* startWorker({ threads: 2, pollingInterval: "1 hour" })
        yield* Dispatcher.start({ pollingInterval: "1 hour", concurrencyMaintenanceInterval: "20 seconds" })
        const stateOf = Effect.map(JobClient.find(waiting.id), Option.map((j) => j.state))
        assert.deepStrictEqual(yield* stateOf, Option.some("blocked" as const))
        // Within the duration, maintenance leaves it blocked.
        yield* TestClock.adjust("20 seconds")
        yield* TestClock.adjust("20 seconds")
        assert.deepStrictEqual(yield* stateOf, Option.some("blocked" as const))
        // Past it, the semaphore expires and the next maintenance run releases the blocked job, which runs.
        yield* TestClock.adjust("20 seconds")
        yield* TestClock.adjust("20 seconds")
        yield* eventually(Effect.sync(() => started.length === 1))
        assert.deepStrictEqual(started, [1])
        yield* eventually(Effect.map(JobClient.find(waiting.id), (j) => Option.getOrUndefined(j)?.state === "finished"))
      }))

    it.scoped("retried jobs wait on the semaphore again", () =>
      Effect.gen(function*() {
        yield* reset
        const gate = yield* Deferred.make<void>()
        let failFirst = true
        yield* handlers(One.toLayer((p) =>
          p.n === 0 && failFirst
            ? Effect.sync(() => (failFirst = false)).pipe(Effect.zipRight(Effect.fail("first try")))
            : p.n === 1
            ? Deferred.await(gate)
            : Effect.void
        ))
        const first = yield* One.enqueue({ key: "r", n: 0 })
        yield* startWorker({ threads: 2 })
        yield* eventually(Effect.map(JobClient.find(first.id), (j) => Option.getOrUndefined(j)?.state === "failed"))
        const holder = yield* One.enqueue({ key: "r", n: 1 })
        yield* eventually(Effect.map(JobClient.find(holder.id), (j) => Option.getOrUndefined(j)?.state === "claimed"))
        yield* JobClient.retry(first.id)
        assert.strictEqual(Option.getOrUndefined(yield* JobClient.find(first.id))?.state, "blocked")
        yield* Deferred.succeed(gate, undefined)
        yield* eventually(Effect.map(count("steady_queue_jobs", "finished_at IS NOT NULL"), (n) => n === 2))
      }).pipe(TestServices.provideLive))
  })
