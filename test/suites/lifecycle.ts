import { assert, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Clock, ConfigProvider, Duration, Effect, Exit, Option, Queue, Scope, TestClock } from "effect"
import { Admin, JobClient, QueueConfig, Supervisor } from "../../src/index.js"
import type { JobEvent } from "../../src/JobEvents.js"
import { type DialectName, reset, suiteLayer } from "../support/databases.js"
import { advanceUntil, awaitFinished, count, eventually, handlers, Probe, probeHandler, startWorker, subscribe } from "../support/harness.js"

export const lifecycleSuite = (dialect: DialectName) =>
  layer(suiteLayer(dialect), { timeout: "60 seconds" })("lifecycle", (it) => {
    it.scoped("events: enqueued, started and finished with the outcome", () =>
      Effect.gen(function*() {
        yield* reset
        yield* handlers(probeHandler([], (label) => label === "bad" ? Effect.fail("bad input") : Effect.void))
        const sub = yield* subscribe
        const good = yield* Probe.enqueue({ label: "good" })
        const bad = yield* Probe.enqueue({ label: "bad" }, { queue: "other", priority: -1 })
        yield* startWorker({ queues: ["default", "other"] })
        const events: Array<JobEvent> = []
        while (events.filter((e) => e._tag === "Finished").length < 2) events.push(yield* Queue.take(sub))
        const summary = events.map((e) =>
          e._tag === "Enqueued" ? `enqueued ${e.job.id}` : e._tag === "Started" ? `started ${e.job.id}` : `${e.outcome} ${e.job.id}`
        )
        // Each job's events in order, the jobs in queue order; the second may start (from the worker's buffer)
        // before the first one's success is written.
        const of = (id: number) => summary.filter((line) => line.endsWith(` ${id}`))
        assert.deepStrictEqual(of(good.id), [`enqueued ${good.id}`, `started ${good.id}`, `succeeded ${good.id}`])
        assert.deepStrictEqual(of(bad.id), [`enqueued ${bad.id}`, `started ${bad.id}`, `failed ${bad.id}`])
        assert.deepStrictEqual(summary.filter((line) => line.startsWith("started")), [`started ${good.id}`, `started ${bad.id}`])
        const failed = events.find((e) => e._tag === "Finished" && e.outcome === "failed")
        assert.strictEqual(failed?._tag === "Finished" ? failed.error?.message : undefined, "bad input")
      }))

    it.scoped("preserve_finished_jobs keeps finished jobs, or deletes them when false", () =>
      Effect.gen(function*() {
        yield* reset
        yield* handlers(probeHandler([]))
        const sub = yield* subscribe
        const kept = yield* Probe.enqueue({ label: "kept" })
        yield* Effect.scoped(Effect.zipRight(startWorker(), awaitFinished(sub, 1)))
        const job = Option.getOrThrow(yield* JobClient.find(kept.id))
        assert.strictEqual(job.state, "finished")
        assert.isTrue(Option.isSome(job.finishedAt))
        const gone = yield* Probe.enqueue({ label: "gone" })
        yield* Effect.scoped(Effect.zipRight(startWorker({ preserveFinishedJobs: false }), awaitFinished(sub, 1)))
        assert.isTrue(Option.isNone(yield* JobClient.find(gone.id)))
        assert.strictEqual(yield* count("steady_queue_jobs"), 1)
      }))

    it.scoped("clearFinishedJobs deletes jobs finished before the cut-off, in batches, and nothing else", () =>
      Effect.gen(function*() {
        yield* reset
        yield* handlers(probeHandler([], (label) => label === "fails" ? Effect.fail("x") : Effect.void))
        const sub = yield* subscribe
        yield* TestClock.setTime(Date.parse("2030-01-01T00:00:00Z"))
        yield* JobClient.enqueueAll(Array.from({ length: 5 }, (_, i) => Probe.job({ label: `old${i}` })))
        yield* Effect.scoped(Effect.zipRight(startWorker({ threads: 5 }), awaitFinished(sub, 5)))
        yield* TestClock.adjust("23 hours")
        yield* JobClient.enqueueAll([Probe.job({ label: "recent" }), Probe.job({ label: "fails" })])
        yield* Probe.enqueue({ label: "pending" }, { delay: "1 day" })
        yield* Effect.scoped(Effect.zipRight(startWorker({ threads: 2 }), awaitFinished(sub, 2)))
        yield* TestClock.adjust("2 hours")
        // Default cut-off: one day. The five old jobs go, two at a time; recent, failed and pending stay.
        assert.strictEqual(yield* Admin.clearFinishedJobs({ batchSize: 2 }), 5)
        assert.strictEqual(yield* count("steady_queue_jobs"), 3)
        assert.strictEqual(yield* Admin.clearFinishedJobs({ olderThan: "1 hour" }), 1)
        assert.strictEqual(yield* count("steady_queue_jobs"), 2)
      }))

    it.scoped("the supervisor runs the default worker and dispatcher, registers every process, and deregisters", () =>
      Effect.gen(function*() {
        yield* reset
        const ran: Array<string> = []
        yield* handlers(probeHandler(ran))
        const sub = yield* subscribe
        const config = yield* QueueConfig.make({ supervisorPidfile: null })
        assert.deepStrictEqual(config.workers.map((w) => [w.queues, w.threads, w.processes]), [[["*"], 3, 1]])
        assert.deepStrictEqual(config.dispatchers.map((d) => d.batchSize), [500])
        const scope = yield* Scope.make()
        const running = yield* Scope.extend(Supervisor.start(config), scope)
        assert.strictEqual(running.workerIds.length, 1)
        assert.strictEqual(running.dispatcherIds.length, 1)
        assert.isNotNull(running.schedulerId)
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ kind: string; supervisor_id: unknown; metadata: string }>`
          SELECT kind, supervisor_id, metadata FROM steady_queue_processes ORDER BY id`
        assert.deepStrictEqual(rows.map((r) => r.kind), ["Supervisor", "Dispatcher", "Worker", "Scheduler"])
        assert.isTrue(rows.slice(1).every((r) => Number(r.supervisor_id) === running.supervisorId))
        assert.deepStrictEqual(JSON.parse(rows[2].metadata).queues, ["*"])
        yield* Probe.enqueue({ label: "now" })
        yield* Probe.enqueue({ label: "soon" }, { delay: "2 seconds" })
        yield* awaitFinished(sub, 1)
        // Step by step: a dispatcher woken by one long jump reads the clock before the job is due and then sleeps
        // past the end of the jump, never to wake.
        yield* advanceUntil(awaitFinished(sub, 1), "500 millis")
        assert.deepStrictEqual(ran, ["now", "soon"])
        // Heartbeats move last_heartbeat_at forward.
        const beat = `last_heartbeat_at > ${yield* Clock.currentTimeMillis}`
        const before = yield* count("steady_queue_processes", beat)
        yield* TestClock.adjust("61 seconds")
        yield* eventually(Effect.map(count("steady_queue_processes", beat), (n) => n === 4))
        assert.strictEqual(before, 0)
        yield* Scope.close(scope, Exit.void)
        assert.strictEqual(yield* count("steady_queue_processes"), 0)
      }))

    it.effect("invalid configuration is a typed error", () =>
      Effect.gen(function*() {
        const bad = [
          { workers: [{ threads: 0 }] },
          { workers: [{ queues: [] }] },
          { dispatchers: [{ batchSize: -1 }] },
          { shutdownTimeout: "soon" }
        ] as const
        for (const input of bad) {
          const error = yield* Effect.flip(QueueConfig.make(input as QueueConfig.QueueConfigInput))
          assert.strictEqual(error._tag, "InvalidConfigError")
        }
        const custom = yield* QueueConfig.make({ shutdownTimeout: "30 seconds", workers: [{ queues: ["a", "b*"], threads: 8 }] })
        assert.strictEqual(custom.workers[0].threads, 8)
        assert.strictEqual(custom.dispatchers.length, 1)
        // From the environment: the JSON first, then single settings over it, then the code's base under both.
        const env = ConfigProvider.fromMap(new Map([
          ["STEADY_QUEUE_CONFIG", JSON.stringify({ workers: [{ threads: 2 }], shutdownTimeout: "1 second" })],
          ["STEADY_QUEUE_SHUTDOWN_TIMEOUT", "2500"],
          ["STEADY_QUEUE_PRESERVE_FINISHED_JOBS", "false"],
          ["STEADY_QUEUE_SUPERVISOR_PIDFILE", "none"],
          ["STEADY_QUEUE_MODE", "fork"]
        ]))
        const fromEnv = yield* QueueConfig.fromEnv({ processAliveThreshold: "1 minute" }).pipe(Effect.withConfigProvider(env))
        assert.strictEqual(fromEnv.workers[0].threads, 2)
        assert.strictEqual(Duration.toMillis(fromEnv.shutdownTimeout), 2500)
        assert.strictEqual(Duration.toMillis(fromEnv.processAliveThreshold), 60_000)
        assert.isFalse(fromEnv.preserveFinishedJobs)
        assert.isNull(fromEnv.supervisorPidfile)
        assert.strictEqual(fromEnv.mode, "fork")
        const badEnv = ConfigProvider.fromMap(new Map([["STEADY_QUEUE_CONFIG", "{not json"]]))
        assert.strictEqual((yield* Effect.flip(QueueConfig.fromEnv().pipe(Effect.withConfigProvider(badEnv))))._tag, "InvalidConfigError")
      }))
  })
