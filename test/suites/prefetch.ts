import { assert, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Clock, Deferred, Effect, Exit, Option, Scope, TestClock } from "effect"
import { Admin, JobClient } from "../../src/index.js"
import { pruneDeadProcesses } from "../../src/internal/Prune.js"
import { Store } from "../../src/internal/Store.js"
import { type DialectName, reset, suiteLayer } from "../support/databases.js"
import { awaitFinished, count, eventually, handlers, Probe, probeHandler, recordSpans, startWorker, subscribe } from "../support/harness.js"

const state = (id: number) => Effect.map(JobClient.find(id), Option.map((j) => j.state))
const errorTag = (id: number) =>
  Effect.map(JobClient.find(id), (job) => Option.getOrUndefined(Option.flatMap(job, (j) => j.error))?.tag)
const unstartedClaims = count("steady_queue_claimed_executions", "started_at IS NULL")

/** `n` jobs labelled 0..n-1 on `queue`, enqueued in order. */
const enqueueLabelled = (n: number, queue = "default") =>
  JobClient.enqueueAll(Array.from({ length: n }, (_, i) => Probe.job({ label: `${i}` }, { queue })))

/** Runs `n` labelled jobs of no work through one worker, recording the spans; the labels in the order they ran. */
const drainRecorded = (n: number, options: Parameters<typeof startWorker>[0]) =>
  Effect.gen(function*() {
    yield* reset
    const ran: Array<string> = []
    yield* handlers(probeHandler(ran))
    yield* enqueueLabelled(n)
    const spans = yield* recordSpans
    const sub = yield* subscribe
    yield* startWorker(options)
    yield* awaitFinished(sub, n)
    return { ran, spans }
  })

export const prefetchSuite = (dialect: DialectName) =>
  layer(suiteLayer(dialect), { timeout: "60 seconds" })("claim ahead", (it) => {
    it.effect("threads bound the jobs in flight; the worker claims `prefetch` more ahead, 0 claims only for free threads, and so does the default before any job ended", () =>
      Effect.gen(function*() {
        for (const prefetch of [undefined, 4, 0]) {
          yield* reset
          yield* Effect.scoped(Effect.gen(function*() {
            let running = 0
            let peak = 0
            const gate = yield* Deferred.make<void>()
            const ran: Array<string> = []
            yield* handlers(probeHandler(ran, () =>
              Effect.gen(function*() {
                running++
                peak = Math.max(peak, running)
                yield* Deferred.await(gate)
                running--
              })))
            yield* enqueueLabelled(12)
            const sub = yield* subscribe
            yield* startWorker({ threads: 3, ...(prefetch === undefined ? {} : { prefetch }) })
            while (ran.length < 3) yield* Effect.yieldNow()
            yield* TestClock.adjust("2 seconds")
            assert.strictEqual(ran.length, 3)
            // By default the buffer follows the worker's pace: none while no job has ended.
            const ahead = prefetch ?? 0
            assert.strictEqual(yield* count("steady_queue_claimed_executions"), 3 + ahead)
            assert.strictEqual(yield* unstartedClaims, ahead)
            yield* Deferred.succeed(gate, undefined)
            yield* awaitFinished(sub, 12)
            assert.strictEqual(peak, 3)
            assert.strictEqual(yield* count("steady_queue_jobs", "finished_at IS NOT NULL"), 12)
          }))
        }
      }))

    it.effect("by default, claims grow with the worker's pace, up to hundreds of jobs", () =>
      Effect.gen(function*() {
        const { ran, spans } = yield* drainRecorded(500, { threads: 2 })
        const claims = spans.filter((s) => s.name === "steady-queue.claim" && Number(s.attributes.get("claimed")) > 0)
        const sizes = claims.map((s) => Number(s.attributes.get("batchSize")))
        // The first claim is for the free threads; then each is for the threads and as many as have ended.
        assert.strictEqual(sizes[0], 2)
        assert.isAbove(Math.max(...sizes), 100)
        assert.isBelow(claims.length, 25)
        assert.deepStrictEqual(ran, Array.from({ length: 500 }, (_, i) => `${i}`))
      }).pipe(Effect.scoped))

    it.effect("the outcomes of jobs ending together are written together: batches span many rounds of threads", () =>
      Effect.gen(function*() {
        const { spans } = yield* drainRecorded(400, { threads: 4, prefetch: 100 })
        const batches = spans.filter((s) => s.name === "steady-queue.finish").map((s) => Number(s.attributes.get("batchSize")))
        // One round of threads per batch would be 100 batches.
        assert.isBelow(batches.length, 25)
        assert.strictEqual(yield* count("steady_queue_jobs", "finished_at IS NOT NULL"), 400)
      }).pipe(Effect.scoped))

    it.effect("buffered jobs run in claim order: priority order holds across the buffer", () =>
      Effect.gen(function*() {
        yield* reset
        const ran: Array<string> = []
        yield* handlers(probeHandler(ran))
        yield* JobClient.enqueueAll([0, 5, -3, 5, 9, 1, 0, 9].map((priority, i) => Probe.job({ label: `${i}` }, { priority })))
        const sub = yield* subscribe
        yield* startWorker({ threads: 1, prefetch: 3 })
        yield* awaitFinished(sub, 8)
        assert.deepStrictEqual(ran, ["4", "7", "1", "3", "5", "0", "6", "2"])
      }).pipe(Effect.scoped))

    it.effect("shutdown gives the jobs claimed ahead back to ready first, while running jobs finish", () =>
      Effect.gen(function*() {
        yield* reset
        const gate = yield* Deferred.make<void>()
        const ran: Array<string> = []
        yield* handlers(probeHandler(ran, (label) => (label === "0" ? Deferred.await(gate) : Effect.void)))
        const [first] = yield* enqueueLabelled(4)
        const scope = yield* Scope.make()
        yield* Scope.extend(startWorker({ threads: 1, prefetch: 3, shutdownTimeout: "10 seconds" }), scope)
        while (ran.length < 1) yield* Effect.yieldNow()
        assert.strictEqual(yield* unstartedClaims, 3)
        const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
        // During the grace period the buffered jobs are already ready for other workers.
        yield* eventually(Effect.map(count("steady_queue_ready_executions"), (n) => n === 3))
        yield* Deferred.succeed(gate, undefined)
        yield* TestClock.adjust("1 second")
        yield* closing.await
        assert.deepStrictEqual(ran, ["0"])
        assert.deepStrictEqual(yield* state(first.id), Option.some("finished" as const))
        assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
        assert.strictEqual(yield* count("steady_queue_ready_executions"), 3)
      }).pipe(Effect.scoped))

    it.scoped("pruning fails the jobs a dead worker started, and gives back those it claimed ahead; it starts none of them", () =>
      Effect.gen(function*() {
        yield* reset
        const firstGate = yield* Deferred.make<void>()
        const secondGate = yield* Deferred.make<void>()
        const ran: Array<string> = []
        yield* handlers(probeHandler(ran, (label) =>
          label === "0" ? Deferred.await(firstGate) : label === "1" ? Deferred.await(secondGate) : Effect.void))
        const jobs = yield* enqueueLabelled(5)
        const workerId = yield* startWorker({ threads: 1, prefetch: 3, heartbeatInterval: "1 minute" })
        while (ran.length < 1) yield* Effect.yieldNow()
        // Job 0 ends; job 1 starts from the buffer, and its start is recorded with the finish of job 0.
        yield* Deferred.succeed(firstGate, undefined)
        while (ran.length < 2) yield* Effect.yieldNow()
        yield* eventually(Effect.map(unstartedClaims, (n) => n === 2))
        // The worker looks dead and is pruned.
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE steady_queue_processes SET last_heartbeat_at = 0 WHERE id = ${workerId}`
        yield* pruneDeadProcesses((yield* Clock.currentTimeMillis) - 1, -1).pipe(Effect.orDie)
        assert.strictEqual(yield* errorTag(jobs[1].id), "ProcessPrunedError")
        for (const job of jobs.slice(2, 4)) assert.deepStrictEqual(yield* state(job.id), Option.some("ready" as const))
        assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
        assert.deepStrictEqual(ran, ["0", "1"])
        // It wakes up: its late success is not recorded.
        yield* Deferred.succeed(secondGate, undefined)
        yield* TestClock.adjust("1 second")
        assert.strictEqual(yield* errorTag(jobs[1].id), "ProcessPrunedError")
      }))

    it.scoped("a buffered job held long enough for its worker to be pruned is checked before it starts", () =>
      Effect.gen(function*() {
        yield* reset
        const gate = yield* Deferred.make<void>()
        const ran: Array<string> = []
        yield* handlers(probeHandler(ran, (label) => (label === "0" ? Deferred.await(gate) : Effect.void)))
        const jobs = yield* enqueueLabelled(3)
        const workerId = yield* startWorker({ threads: 1, prefetch: 2, heartbeatInterval: "1 minute", pollingInterval: "1 hour" })
        while (ran.length < 1) yield* Effect.yieldNow()
        // Pruned while job 0 runs: its buffered jobs go back to ready, and another process takes them.
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE steady_queue_processes SET last_heartbeat_at = 0 WHERE id = ${workerId}`
        yield* pruneDeadProcesses((yield* Clock.currentTimeMillis) - 1, -1).pipe(Effect.orDie)
        const store = yield* Store
        const now = yield* Clock.currentTimeMillis
        const other = yield* store.processes.register(
          { kind: "Worker", name: "other", pid: 1, hostname: "elsewhere", supervisorId: null, metadata: "{}" },
          now
        )
        const taken = yield* store.claim(undefined, 10, other, now)
        assert.deepStrictEqual(taken.map((r) => r.id).sort(), [jobs[1].id, jobs[2].id].sort())
        // The old worker goes on after the buffer's age passed half a heartbeat: it starts none of them.
        yield* TestClock.adjust("31 seconds")
        yield* Deferred.succeed(gate, undefined)
        yield* eventually(Effect.map(count("steady_queue_claimed_executions", `process_id = ${workerId}`), (n) => n === 0))
        yield* TestClock.adjust("1 second")
        assert.deepStrictEqual(ran, ["0"])
        assert.strictEqual(yield* count("steady_queue_claimed_executions", `process_id = ${other}`), 2)
      }))

    it.effect("a paused queue stops handing out buffered jobs: they go back to ready and run once it is resumed", () =>
      Effect.gen(function*() {
        yield* reset
        const gate = yield* Deferred.make<void>()
        const ran: Array<string> = []
        yield* handlers(probeHandler(ran, (label) => (label === "0" ? Deferred.await(gate) : Effect.void)))
        yield* enqueueLabelled(4, "q")
        const sub = yield* subscribe
        yield* startWorker({ threads: 1, prefetch: 3, pollingInterval: "100 millis" })
        while (ran.length < 1) yield* Effect.yieldNow()
        yield* Admin.pause("q")
        yield* TestClock.adjust("200 millis")
        yield* Deferred.succeed(gate, undefined)
        yield* awaitFinished(sub, 1)
        yield* eventually(Effect.map(count("steady_queue_ready_executions"), (n) => n === 3))
        yield* TestClock.adjust("1 second")
        assert.deepStrictEqual(ran, ["0"])
        yield* Admin.resume("q")
        yield* awaitFinished(sub, 3)
        assert.deepStrictEqual(ran, ["0", "1", "2", "3"])
      }).pipe(Effect.scoped))

    it.effect("a claim records which jobs start at once; pruning gives back only those that never started", () =>
      Effect.gen(function*() {
        yield* reset
        const store = yield* Store
        const now = yield* Clock.currentTimeMillis
        const processId = yield* store.processes.register(
          { kind: "Worker", name: "ghost", pid: 999_999, hostname: "elsewhere", supervisorId: null, metadata: "{}" },
          now
        )
        const jobs = yield* enqueueLabelled(4)
        const claimed = yield* store.claim(undefined, 4, processId, now, 1)
        assert.deepStrictEqual(claimed.map((r) => r.id), jobs.map((j) => j.id))
        assert.strictEqual(yield* unstartedClaims, 3)
        // The start of job 1 is recorded later, with other writes.
        yield* store.claimed.finish([{ id: jobs[1].id, startedAt: now + 5 }], [], processId, now, true)
        assert.strictEqual(yield* unstartedClaims, 2)
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE steady_queue_processes SET last_heartbeat_at = 0 WHERE id = ${processId}`
        yield* pruneDeadProcesses(now - 1, -1)
        assert.strictEqual(yield* errorTag(jobs[0].id), "ProcessPrunedError")
        assert.strictEqual(yield* errorTag(jobs[1].id), "ProcessPrunedError")
        assert.strictEqual(Option.getOrThrow(yield* JobClient.find(jobs[1].id)).startedAt.pipe(Option.map((d) => d.getTime()), Option.getOrNull), now + 5)
        for (const job of jobs.slice(2)) assert.deepStrictEqual(yield* state(job.id), Option.some("ready" as const))
      }).pipe(Effect.orDie))
  })
