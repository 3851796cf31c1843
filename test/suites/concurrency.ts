import { SqlClient, Statement } from "@effect/sql"
import { assert, layer } from "@effect/vitest"
import { Clock, Deferred, Duration, Effect, Either, Exit, Layer, Option, Schema, Scope, TestClock, TestServices } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Admin, Dispatcher, JobClient, SteadyQueue, Task, Worker } from "../../src/index.js"
import { ProcessPrunedError } from "../../src/Errors.js"
import { failProcess, pruneDeadProcesses } from "../../src/internal/Prune.js"
import { Store } from "../../src/internal/Store.js"
import { clientLayer, Db, type DialectName, reset, suiteLayer } from "../support/databases.js"
import { advanceUntil, count, eventually, handlers, recordStatements, startWorker } from "../support/harness.js"
import { spawnChild, waitForExit } from "../support/processes.js"

const Payload = Schema.Struct({ key: Schema.String, n: Schema.Number })
const One = Task.make("LimitedToOne", { payload: Payload, concurrency: { key: (p) => p.key, limit: 1 } })
const Two = Task.make("LimitedToTwo", { payload: Payload, concurrency: { key: (p) => p.key, limit: 2 } })
// Two tasks sharing one limit through their group.
const Contact = Task.make("ContactAction", { payload: Payload, concurrency: { key: (p) => p.key, group: "contacts" } })
const Bundle = Task.make("BundleAction", { payload: Payload, concurrency: { key: (p) => p.key, group: "contacts" } })
const Slow = Task.make("SlowLimited", { payload: Payload, concurrency: { key: "shared", limit: 1, duration: "1 minute" } })
// The task of test/support/limited-worker.ts.
const Killable = Task.make("Killable", { payload: Payload, concurrency: { key: (p) => p.key, limit: 1, duration: "1 hour" } })

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

const tempFile = (name: string) => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "steady-queue-")), name)

const stateOf = (id: number) => Effect.map(JobClient.find(id), (j) => Option.getOrUndefined(j)?.state)

/** Polls `condition` in real time for at most `bound`. */
const within = <E, R>(bound: Duration.DurationInput, condition: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function*() {
    const deadline = Date.now() + Duration.toMillis(bound)
    while (Date.now() < deadline) {
      if (yield* condition) return
      yield* TestServices.provideLive(Effect.sleep("10 millis"))
    }
    return yield* Effect.dieMessage(`condition not met within ${Duration.format(bound)}`)
  })

const semaphoreWrite = /^\s*(INSERT\s+(IGNORE\s+)?INTO|UPDATE|DELETE\s+FROM)\s+steady_queue_semaphores\b/i

/**
 * Per concurrency key, read in one statement (one snapshot): its semaphore's value (free slots; null without a
 * row), the jobs holding a slot (ready or claimed) and the jobs blocked.
 */
const keyStates = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ k: string; value: unknown; holders: unknown; blocked: unknown }>`
    SELECT j.concurrency_key AS k, MAX(s.value) AS value,
           SUM(CASE WHEN r.id IS NULL AND c.id IS NULL THEN 0 ELSE 1 END) AS holders,
           SUM(CASE WHEN b.id IS NULL THEN 0 ELSE 1 END) AS blocked
    FROM steady_queue_jobs j
    LEFT JOIN steady_queue_semaphores s ON s.${sql("key")} = j.concurrency_key
    LEFT JOIN steady_queue_ready_executions r ON r.job_id = j.id
    LEFT JOIN steady_queue_claimed_executions c ON c.job_id = j.id
    LEFT JOIN steady_queue_blocked_executions b ON b.job_id = j.id
    WHERE j.concurrency_key IS NOT NULL
    GROUP BY j.concurrency_key`
  return rows.map((r) => ({
    key: r.k,
    value: r.value === null ? null : Number(r.value),
    holders: Number(r.holders),
    blocked: Number(r.blocked)
  }))
}).pipe(Statement.withTransformerDisabled, Effect.orDie)

/**
 * What is wrong with the committed slots of keys of limit `limit`: a free slot (or no semaphore) while jobs of
 * the key are blocked, or a semaphore whose free slots and holders do not add up to the limit (a leaked slot).
 */
const slotProblems = (limit: number) =>
  Effect.map(keyStates, (states) =>
    states.flatMap((s) => [
      ...((s.value ?? limit) > 0 && s.blocked > 0 ? [`${s.key}: ${s.value ?? "no semaphore"} free while ${s.blocked} blocked`] : []),
      ...(s.value !== null && s.value + s.holders !== limit
        ? [`${s.key}: ${s.value} free + ${s.holders} holding != limit ${limit} (${s.blocked} blocked)`]
        : [])
    ]))

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
        yield* Admin.retry(first.id)
        assert.strictEqual(Option.getOrUndefined(yield* JobClient.find(first.id))?.state, "blocked")
        yield* Deferred.succeed(gate, undefined)
        yield* eventually(Effect.map(count("steady_queue_jobs", "finished_at IS NOT NULL"), (n) => n === 2))
      }).pipe(TestServices.provideLive))

    it.effect("a limited job released at shutdown goes back to ready holding its slot; the next job of its key stays blocked", () =>
      Effect.gen(function*() {
        yield* reset
        yield* handlers(One.toLayer((p) => (p.n === 0 ? Effect.never : Effect.void)))
        const held = yield* One.enqueue({ key: "rel", n: 0 })
        const waiting = yield* One.enqueue({ key: "rel", n: 1 })
        const scope = yield* Scope.make()
        yield* Scope.extend(startWorker({ threads: 1, shutdownTimeout: "1 second" }), scope)
        yield* advanceUntil(eventually(Effect.map(stateOf(held.id), (s) => s === "claimed")))
        const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
        yield* TestClock.adjust("2 seconds")
        yield* closing.await
        assert.deepStrictEqual([yield* stateOf(held.id), yield* stateOf(waiting.id)], ["ready", "blocked"])
        assert.deepStrictEqual(yield* keyStates, [{ key: "LimitedToOne/rel", value: 0, holders: 1, blocked: 1 }])
        assert.deepStrictEqual(yield* slotProblems(1), [])
      }).pipe(Effect.scoped))

    for (const outcome of ["finishes", "fails"] as const) {
      it.scoped(`a semaphore statement that fails as a limited job ${outcome}: the whole outcome rolls back and is retried, no slot leaks`, () =>
        Effect.gen(function*() {
          yield* reset
          yield* handlers(One.toLayer((p) => (p.n === 0 && outcome === "fails" ? Effect.fail("boom") : Effect.void)))
          const first = yield* One.enqueue({ key: "a", n: 0 })
          const next = yield* One.enqueue({ key: "a", n: 1 })
          let failing = true
          let injected = 0
          const failSemaphoreStatements: Statement.Statement.Transformer = (self, sql) =>
            Effect.sync(() => {
              if (!failing || !self.compile()[0].includes("steady_queue_semaphores")) return self
              injected++
              return sql`SELECT * FROM steady_queue_no_such_table`
            })
          yield* startWorker({ threads: 2 }).pipe(Statement.withTransformer(failSemaphoreStatements))
          yield* eventually(Effect.sync(() => injected > 0))
          const atFailure = { problems: yield* slotProblems(1), first: yield* stateOf(first.id), next: yield* stateOf(next.id) }
          failing = false
          yield* advanceUntil(eventually(Effect.map(stateOf(next.id), (s) => s === "finished")))
          // What was committed when the statement failed is consistent: the job still held its slot, the next waited.
          assert.deepStrictEqual(atFailure, { problems: [], first: "claimed", next: "blocked" })
          assert.strictEqual(yield* stateOf(first.id), outcome === "finishes" ? "finished" : "failed")
          assert.deepStrictEqual(yield* slotProblems(1), [])
          assert.deepStrictEqual(yield* keyStates, [{ key: "LimitedToOne/a", value: 1, holders: 0, blocked: 0 }])
        }))
    }

    it.effect("kill -9 of a process ending a limited job, then pruning: the next blocked job of the key runs at once, not after `duration`", () =>
      Effect.gen(function*() {
        yield* reset
        const db = yield* Db
        const out = tempFile("killed.txt")
        yield* Killable.enqueue({ key: "k", n: 0 })
        const next = yield* Killable.enqueue({ key: "k", n: 1 })
        assert.strictEqual(yield* stateOf(next.id), "blocked")
        // The child runs the first job and kills itself at its first semaphore statement.
        const exit = yield* Effect.promise(() => waitForExit(spawnChild("test/support/limited-worker.ts", [db.url, out]), 60_000))
        assert.strictEqual(exit.signal, "SIGKILL", exit.output)
        assert.deepStrictEqual(fs.readFileSync(out, "utf8").split("\n").filter(Boolean), ["started 0", "killed"])
        // The supervisor's pruning (threshold zero: the dead process's last heartbeat is in the past).
        yield* pruneDeadProcesses(Duration.zero, -1)
        const ran: Array<number> = []
        yield* handlers(Killable.toLayer((p) => Effect.sync(() => ran.push(p.n))))
        yield* startWorker({ threads: 1, pollingInterval: "20 millis" })
        yield* within("15 seconds", Effect.map(stateOf(next.id), (s) => s === "finished"))
        assert.deepStrictEqual(ran, [1])
        assert.deepStrictEqual(yield* slotProblems(1), [])
      }).pipe(Effect.scoped, TestServices.provideLive), 90_000)

    it.scoped("3 keys of limit 2, jobs of 1 s (TestClock): at every step no key has a free slot while its jobs are blocked, no slot leaks, and at most 2 semaphore writes per job", () =>
      Effect.gen(function*() {
        yield* reset
        const sql = yield* SqlClient.SqlClient
        const jobs = 60
        const problems = new Set<string>()
        let writes = 0
        const sample = Effect.map(slotProblems(2), (found) => found.forEach((p) => problems.add(p)))
        // Counts semaphore writes; before every statement run outside a transaction, checks what is committed.
        const watch: Statement.Statement.Transformer = (self) =>
          Effect.gen(function*() {
            if (semaphoreWrite.test(self.compile()[0])) writes++
            if (Option.isNone(yield* Effect.serviceOption(SqlClient.TransactionConnection))) yield* sample
            return self
          }).pipe(Effect.provideService(SqlClient.SqlClient, sql))
        yield* handlers(Two.toLayer(() => Effect.sleep("1 second")))
        yield* JobClient.enqueueAll(Array.from({ length: jobs }, (_, n) => Two.job({ key: `k${n % 3}`, n }))).pipe(
          Statement.withTransformer(watch)
        )
        for (let i = 0; i < 2; i++) {
          yield* startWorker({ threads: 4, pollingInterval: "200 millis" }).pipe(Statement.withTransformer(watch))
        }
        yield* Dispatcher.start({ pollingInterval: "1 second", concurrencyMaintenanceInterval: "5 seconds" }).pipe(
          Statement.withTransformer(watch)
        )
        const deadline = Date.now() + 60_000
        while ((yield* count("steady_queue_jobs", "finished_at IS NOT NULL")) < jobs) {
          assert.isBelow(Date.now(), deadline, "jobs did not finish within 60 s")
          yield* TestClock.adjust("250 millis")
          yield* TestServices.provideLive(Effect.sleep("10 millis"))
          yield* sample
        }
        assert.deepStrictEqual([...problems], [])
        assert.isAtMost(writes, 2 * jobs, `semaphore writes: ${writes} for ${jobs} jobs`)
        assert.strictEqual(yield* count("steady_queue_blocked_executions"), 0)
      }), 90_000)

    it.scoped("pruning and the dispatcher's maintenance release blocked jobs of keys with a free slot or no semaphore", () =>
      Effect.gen(function*() {
        yield* reset
        const sql = yield* SqlClient.SqlClient
        // What a process killed between giving a slot back and releasing the next job left behind.
        const leftBehind = (key: string, semaphore: "free" | "gone") =>
          Effect.gen(function*() {
            const [done, waiting] = yield* Effect.forEach([0, 1], (n) => One.enqueue({ key, n }))
            yield* sql`DELETE FROM steady_queue_ready_executions WHERE job_id = ${done.id}`
            yield* sql`UPDATE steady_queue_jobs SET finished_at = 1 WHERE id = ${done.id}`
            yield* semaphore === "free"
              ? sql`UPDATE steady_queue_semaphores SET value = 1 WHERE ${sql("key")} = ${`LimitedToOne/${key}`}`
              : sql`DELETE FROM steady_queue_semaphores WHERE ${sql("key")} = ${`LimitedToOne/${key}`}`
            assert.strictEqual(yield* stateOf(waiting.id), "blocked")
            return waiting
          })
        const pruned = [yield* leftBehind("p1", "free"), yield* leftBehind("p2", "gone")]
        yield* pruneDeadProcesses("1 minute", -1)
        for (const job of pruned) assert.strictEqual(yield* stateOf(job.id), "ready")
        const maintained = [yield* leftBehind("m1", "free"), yield* leftBehind("m2", "gone")]
        // Maintenance runs when the dispatcher starts, then every interval.
        yield* Dispatcher.start({ pollingInterval: "1 hour", concurrencyMaintenanceInterval: "1 hour" })
        yield* eventually(Effect.map(Effect.forEach(maintained, (job) => stateOf(job.id)), (states) => states.every((s) => s === "ready")))
        assert.deepStrictEqual(yield* slotProblems(1), [])
      }).pipe(Effect.orDie))

    it.effect("an expired semaphore's slots go to the jobs already blocked on it before a new job of the key", () =>
      Effect.gen(function*() {
        yield* reset
        const store = yield* Store
        const jobs = yield* Effect.forEach([0, 1, 2], (n) => Two.enqueue({ key: "x", n }))
        // A process that vanished holds both slots, for longer than `duration` (3 minutes).
        const now = yield* Clock.currentTimeMillis
        const ghost = yield* store.processes.register(
          { kind: "Worker", name: "vanished", pid: 999_999, hostname: "gone", supervisorId: null, metadata: "{}" },
          now
        )
        assert.strictEqual((yield* store.claim(undefined, 2, ghost, now)).length, 2)
        yield* TestClock.adjust("4 minutes")
        const late = yield* Two.enqueue({ key: "x", n: 3 })
        assert.deepStrictEqual([yield* stateOf(jobs[2].id), yield* stateOf(late.id)], ["ready", "ready"])
        assert.deepStrictEqual((yield* slotProblems(2)).filter((p) => p.includes("free while")), [])
      }).pipe(Effect.orDie))

    it.effect("a failure of a job that already has a failed-execution row replaces the row: the claim ends with the new error", () =>
      Effect.gen(function*() {
        yield* reset
        const sql = yield* SqlClient.SqlClient
        const store = yield* Store
        const now = yield* Clock.currentTimeMillis
        const oldFailure = (jobId: number) =>
          sql`INSERT INTO steady_queue_failed_executions ${sql.insert({ job_id: jobId, error: "old error", created_at: now })}`
        const failureOf = (jobId: number) =>
          Effect.map(
            sql<{ error: string }>`SELECT error FROM steady_queue_failed_executions WHERE job_id = ${jobId}`,
            (rows) => rows.map((r) => r.error)
          )
        // Pruning's path: a dead process's claim.
        const pruned = yield* One.enqueue({ key: "p", n: 0 })
        const ghost = yield* store.processes.register(
          { kind: "Worker", name: "gone", pid: 999_999, hostname: "gone", supervisorId: null, metadata: "{}" },
          now
        )
        yield* store.claim(undefined, 1, ghost, now)
        yield* oldFailure(pruned.id)
        const failed = yield* Effect.either(failProcess(ghost, new ProcessPrunedError({ processId: ghost, message: "pruned in a test" })))
        assert.deepStrictEqual(Either.getOrUndefined(failed), [pruned.id], String(Either.getLeft(failed)))
        const [prunedError] = yield* failureOf(pruned.id)
        assert.include(prunedError, "pruned in a test")
        // A worker's path: the handler fails.
        yield* handlers(One.toLayer((p) => (p.n === 0 ? Effect.fail("new error") : Effect.void)))
        const failing = yield* One.enqueue({ key: "w", n: 0 })
        const next = yield* One.enqueue({ key: "w", n: 1 })
        yield* oldFailure(failing.id)
        yield* startWorker({ threads: 1, pollingInterval: "20 millis" })
        yield* within("15 seconds", Effect.map(failureOf(failing.id), (errors) => errors.some((e) => e.includes("new error"))))
        assert.strictEqual((yield* failureOf(failing.id)).length, 1)
        // The slot went on to the next job of the key.
        yield* within("15 seconds", Effect.map(stateOf(next.id), (s) => s === "finished"))
        assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
      }).pipe(Effect.scoped, TestServices.provideLive, Effect.orDie), 60_000)
  })
