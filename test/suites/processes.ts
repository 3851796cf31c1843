import { assert, layer } from "@effect/vitest"
import { NodeFileSystem } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { Clock, Deferred, Effect, Exit, Layer, Option, Queue, Schema, Scope, TestClock } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Admin, JobClient, QueueConfig, Supervisor, Task } from "../../src/index.js"
import * as Pidfile from "../../src/internal/Pidfile.js"
import { pruneDeadProcesses } from "../../src/internal/Prune.js"
import { Store } from "../../src/internal/Store.js"
import { type DialectName, reset, suiteLayer } from "../support/databases.js"
import { advanceUntil, count, eventually, handlers, Probe, probeHandler, startWorker, subscribe } from "../support/harness.js"

const Fenced = Task.make("FencedLimited", {
  payload: Schema.Struct({ label: Schema.String }),
  concurrency: { key: "f", duration: "1 day" }
})

const errorTag = (id: number) =>
  Effect.map(JobClient.find(id), (job) => Option.getOrUndefined(Option.flatMap(job, (j) => j.error))?.tag)

/** A process row that will never heartbeat, holding a claim on a fresh job. */
const deadProcessWithJob = Effect.gen(function*() {
  const store = yield* Store
  const now = yield* Clock.currentTimeMillis
  const processId = yield* store.processes.register(
    { kind: "Worker", name: `ghost-${now}`, pid: 999_999, hostname: "elsewhere", supervisorId: null, metadata: "{}" },
    now
  )
  const job = yield* Probe.enqueue({ label: "held" })
  const claimed = yield* store.claim(undefined, 1, processId, now)
  assert.deepStrictEqual(claimed.map((r) => r.id), [job.id])
  return { processId, jobId: job.id }
}).pipe(Effect.orDie)

export const processesSuite = (dialect: DialectName) =>
  layer(suiteLayer(dialect), { timeout: "60 seconds" })("processes", (it) => {
    it.scoped("heartbeats keep processes alive; one silent past process_alive_threshold is pruned, its jobs failed", () =>
      Effect.gen(function*() {
        yield* reset
        const ghost = yield* deadProcessWithJob
        const config = yield* QueueConfig.make({
          workers: [],
          dispatchers: [],
          supervisorPidfile: null,
          processHeartbeatInterval: "60 seconds",
          processAliveThreshold: "5 minutes"
        })
        const { supervisorId } = yield* Supervisor.start(config)
        // Four minutes of silence: still alive.
        for (let i = 0; i < 4; i++) yield* TestClock.adjust("60 seconds")
        yield* eventually(Effect.map(count("steady_queue_processes", `id = ${supervisorId}`), (n) => n === 1))
        assert.strictEqual(yield* count("steady_queue_processes", `id = ${ghost.processId}`), 1)
        assert.strictEqual(yield* count("steady_queue_claimed_executions"), 1)
        // Past the threshold: pruned at the next maintenance run; the supervisor, heartbeating, is not.
        yield* advanceUntil(eventually(Effect.map(count("steady_queue_processes", `id = ${ghost.processId}`), (n) => n === 0)), "30 seconds")
        assert.strictEqual(yield* errorTag(ghost.jobId), "ProcessPrunedError")
        assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
        assert.strictEqual(yield* count("steady_queue_processes", `id = ${supervisorId}`), 1)
        // Failed by pruning, and retryable.
        assert.strictEqual(yield* Admin.retryMany([ghost.jobId]), 1)
      }))

    it.scoped("claims whose process row is gone are failed with ProcessMissingError", () =>
      Effect.gen(function*() {
        yield* reset
        const ghost = yield* deadProcessWithJob
        const sql = yield* SqlClient.SqlClient
        yield* sql`DELETE FROM steady_queue_processes WHERE id = ${ghost.processId}`
        const result = yield* pruneDeadProcesses("5 minutes", -1)
        assert.strictEqual(result.failedJobs, 1)
        assert.strictEqual(yield* errorTag(ghost.jobId), "ProcessMissingError")
      }))

    it.scoped("fencing: a pruned worker that wakes up cannot finish its old job; it registers again and works on", () =>
      Effect.gen(function*() {
        yield* reset
        const gate = yield* Deferred.make<void>()
        const ran: Array<string> = []
        yield* handlers(probeHandler(ran, (label) => (label === "slow" ? Deferred.await(gate) : Effect.void)))
        const sub = yield* subscribe
        const slow = yield* Probe.enqueue({ label: "slow" })
        const workerId = yield* startWorker({ threads: 1, heartbeatInterval: "1 minute" })
        while (!ran.includes("slow")) yield* Effect.yieldNow()
        // The worker looks dead (a long GC pause, a network split) and is pruned while its job runs.
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE steady_queue_processes SET last_heartbeat_at = 0 WHERE id = ${workerId}`
        const now = yield* Clock.currentTimeMillis
        yield* pruneDeadProcesses(now - 1, -1).pipe(Effect.orDie)
        assert.strictEqual(yield* errorTag(slow.id), "ProcessPrunedError")
        // It wakes up and finishes: nothing changes.
        yield* Deferred.succeed(gate, undefined)
        const next = yield* Probe.enqueue({ label: "next" })
        let finishedNext = false
        while (!finishedNext) {
          const e = yield* Queue.take(sub)
          if (e._tag === "Finished") {
            assert.strictEqual(e.job.id, next.id, "the pruned job must not be reported finished")
            finishedNext = true
          }
        }
        const job = Option.getOrThrow(yield* JobClient.find(slow.id))
        assert.strictEqual(job.state, "failed")
        assert.isTrue(Option.isNone(job.finishedAt))
        // Its next heartbeat puts its row back.
        yield* TestClock.adjust("1 minute")
        yield* eventually(Effect.map(count("steady_queue_processes", `id = ${workerId}`), (n) => n === 1))
      }))

    it.scoped("fencing: a pruned worker's late finish signals no semaphore (the slot it lost is not given back twice)", () =>
      Effect.gen(function*() {
        yield* reset
        yield* TestClock.setTime(Date.parse("2030-01-01T00:00:00Z"))
        const gates = { a: yield* Deferred.make<void>(), b: yield* Deferred.make<void>() }
        const ran: Array<string> = []
        yield* handlers(Layer.mergeAll(
          Fenced.toLayer(({ label }) =>
            Effect.sync(() => ran.push(label)).pipe(Effect.zipRight(Deferred.await(label === "a" ? gates.a : gates.b)))
          ),
          probeHandler([])
        ))
        const sub = yield* subscribe
        const semaphoreValue = Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql<{ value: number | string }>`SELECT value FROM steady_queue_semaphores`).pipe(
          Effect.map((rows) => rows.map((r) => Number(r.value))),
          Effect.orDie
        )
        yield* Fenced.enqueue({ label: "a" })
        const workerId = yield* startWorker({ threads: 2, heartbeatInterval: "1 minute" })
        // However the test ends, let the handlers return first so the worker can shut down.
        yield* Effect.addFinalizer(() => Effect.all([Deferred.succeed(gates.a, undefined), Deferred.succeed(gates.b, undefined)]))
        while (!ran.includes("a")) yield* Effect.yieldNow()
        assert.deepStrictEqual(yield* semaphoreValue, [0])
        // Pruned mid-job: the job fails and its slot is given back, once.
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE steady_queue_processes SET last_heartbeat_at = 0 WHERE id = ${workerId}`
        yield* pruneDeadProcesses(1, -1).pipe(Effect.orDie)
        assert.deepStrictEqual(yield* semaphoreValue, [1])
        // Another job takes the slot.
        yield* Fenced.enqueue({ label: "b" })
        while (!ran.includes("b")) yield* Effect.yieldNow()
        assert.deepStrictEqual(yield* semaphoreValue, [0])
        // The pruned job's handler returns now: its finish is fenced off and must not free b's slot.
        yield* Deferred.succeed(gates.a, undefined)
        const next = yield* Probe.enqueue({ label: "next" })
        let seen = false
        while (!seen) {
          const e = yield* Queue.take(sub)
          seen = e._tag === "Finished" && e.job.id === next.id
        }
        assert.deepStrictEqual(yield* semaphoreValue, [0])
        yield* Deferred.succeed(gates.b, undefined)
        yield* eventually(Effect.map(semaphoreValue, (v) => v[0] === 1))
      }))

    it.scoped("lifecycle hooks run on start and stop for the supervisor, workers and dispatchers", () =>
      Effect.gen(function*() {
        yield* reset
        const calls: Array<string> = []
        const hook = (name: string) => (p: Supervisor.ProcessInfo) => Effect.sync(() => calls.push(`${name} ${p.kind}`))
        const config = yield* QueueConfig.make({ supervisorPidfile: null, workers: [{ processes: 2 }] })
        const scope = yield* Scope.make()
        yield* Scope.extend(Supervisor.start(config, {
          onStart: hook("start"),
          onStop: hook("stop"),
          onWorkerStart: hook("start"),
          onWorkerStop: hook("stop"),
          onDispatcherStart: hook("start"),
          onDispatcherStop: hook("stop"),
          onSchedulerStart: hook("start"),
          onSchedulerStop: hook("stop")
        }), scope)
        assert.deepStrictEqual(calls, ["start Supervisor", "start Dispatcher", "start Worker", "start Worker", "start Scheduler"])
        yield* Scope.close(scope, Exit.void)
        assert.deepStrictEqual(calls.slice(5).sort(), [
          "stop Dispatcher",
          "stop Scheduler",
          "stop Supervisor",
          "stop Worker",
          "stop Worker"
        ])
        assert.strictEqual(calls[calls.length - 1], "stop Supervisor")
      }))

    it.scoped("pidfile: a live pid refuses a second supervisor, a stale one is taken over, and it is removed on exit", () =>
      Effect.gen(function*() {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "steady-queue-")), "pids", "supervisor.pid")
        yield* Effect.scoped(Effect.gen(function*() {
          yield* Pidfile.acquire(file)
          assert.strictEqual(fs.readFileSync(file, "utf8").trim(), String(process.pid))
          const second = yield* Effect.flip(Effect.scoped(Pidfile.acquire(file)))
          assert.strictEqual(second._tag, "SupervisorAlreadyRunningError")
          assert.include(second.message, file)
        }))
        assert.isFalse(fs.existsSync(file))
        fs.mkdirSync(path.dirname(file), { recursive: true })
        fs.writeFileSync(file, "2147483646\n") // no such process
        yield* Effect.scoped(Pidfile.acquire(file))
        assert.isFalse(fs.existsSync(file))
        // Through the supervisor's configuration, too.
        const config = yield* QueueConfig.make({ workers: [], dispatchers: [], supervisorPidfile: file })
        yield* Effect.scoped(Effect.gen(function*() {
          yield* Supervisor.start(config)
          assert.strictEqual((yield* Effect.flip(Effect.scoped(Supervisor.start(config))))._tag, "SupervisorAlreadyRunningError")
        }))
      }).pipe(Effect.provide(NodeFileSystem.layer)))
  })
