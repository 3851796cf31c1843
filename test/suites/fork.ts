import { assert, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Effect, Option, TestServices } from "effect"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { JobClient } from "../../src/index.js"
import { Db, type DialectName, reset, suiteLayer } from "../support/databases.js"
import { count, eventually, Probe } from "../support/harness.js"
import { spawnChild, waitForExit } from "../support/processes.js"

const tempFile = (name: string) => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "steady-queue-")), name)
const lines = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [])
const done = (file: string) => lines(file).filter((l) => l.startsWith("done ")).map((l) => l.split(" ")[1])
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const forkConfig = {
  mode: "fork",
  shutdownTimeout: "2 seconds",
  processHeartbeatInterval: "1 second",
  workers: [{ threads: 4, pollingInterval: "20 millis" }],
  dispatchers: [],
  scheduler: null
}

const superviseIn = (db: { url: string }, out: string, config: object) => {
  const child = spawnChild("test/support/child-worker.ts", [db.url, "supervisor", out], config)
  return { child, exited: waitForExit(child, 60_000) }
}

const stop = (child: ChildProcess, exited: Promise<{ code: number | null; output: string }>) =>
  Effect.gen(function*() {
    child.kill("SIGTERM")
    const exit = yield* Effect.promise(() => exited)
    assert.strictEqual(exit.code, 0, exit.output)
  })

const pidsOf = (kind: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ pid: number | string }>`SELECT pid FROM steady_queue_processes WHERE kind = ${kind}`).pipe(
    Effect.map((rows) => rows.map((r) => Number(r.pid))),
    Effect.orDie
  )

const enqueueShort = (n: number) => JobClient.enqueueAll(Array.from({ length: n }, (_, i) => Probe.job({ label: `short-${i}` })))

/** No job ran to the end twice, except those a dead process had failed (and that were retried). */
const assertNoUnexplainedRepeats = (labels: ReadonlyArray<string>, retried: ReadonlySet<string>) => {
  const seen = new Map<string, number>()
  for (const l of labels) seen.set(l, (seen.get(l) ?? 0) + 1)
  const repeats = [...seen.entries()].filter(([l, k]) => k > 1 && !retried.has(l))
  assert.deepStrictEqual(repeats, [])
}

export const forkSuite = (dialect: DialectName) =>
  layer(suiteLayer(dialect), { timeout: "120 seconds" })("fork mode", (it) => {
    it.effect("SIGKILL a forked worker mid-stream: jobs finish once or fail with ProcessExitError and are retried", () =>
      Effect.gen(function*() {
        yield* reset
        const db = yield* Db
        const out = tempFile("fork-kill.txt")
        const jobs = yield* enqueueShort(500)
        const { child, exited } = superviseIn(db, out, forkConfig)
        yield* eventually(Effect.sync(() => done(out).length >= 100))
        const [worker] = yield* pidsOf("Worker")
        process.kill(worker, "SIGKILL")
        // The supervisor fails what the dead worker held and starts a new worker, which drains the rest.
        yield* eventually(Effect.gen(function*() {
          const settled = (yield* count("steady_queue_ready_executions")) === 0 &&
            (yield* count("steady_queue_claimed_executions")) === 0
          return settled && (yield* pidsOf("Worker")).some((pid) => pid !== worker)
        }))
        const failed = yield* JobClient.failedJobs({ limit: 1000 })
        assert.isAbove(failed.length, 0, "the killed worker held jobs")
        assert.isTrue(failed.every((j) => Option.getOrUndefined(j.error)?.tag === "ProcessExitError"))
        const failedLabels = new Set(failed.map((j) => (JSON.parse(j.arguments) as { label: string }).label))
        yield* JobClient.retryAllFailed
        yield* eventually(Effect.map(count("steady_queue_jobs", "finished_at IS NOT NULL"), (n) => n === jobs.length))
        assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
        assertNoUnexplainedRepeats(done(out), failedLabels)
        yield* stop(child, exited)
        assert.strictEqual(yield* count("steady_queue_processes"), 0)
      }).pipe(TestServices.provideLive), 120_000)

    it.effect("SIGTERM a forked supervisor mid-run: every job finishes or is back in ready, none runs twice", () =>
      Effect.gen(function*() {
        yield* reset
        const db = yield* Db
        const out = tempFile("fork-term.txt")
        yield* enqueueShort(400)
        const { child, exited } = superviseIn(db, out, { ...forkConfig, workers: [{ threads: 4, processes: 2, pollingInterval: "20 millis" }] })
        yield* eventually(Effect.sync(() => done(out).length >= 50))
        yield* stop(child, exited)
        assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
        assert.strictEqual(yield* count("steady_queue_failed_executions"), 0)
        const finished = yield* count("steady_queue_jobs", "finished_at IS NOT NULL")
        assert.strictEqual(finished + (yield* count("steady_queue_ready_executions")), 400)
        assert.strictEqual(done(out).length, finished)
        assertNoUnexplainedRepeats(done(out), new Set())
        assert.strictEqual(yield* count("steady_queue_processes"), 0)
      }).pipe(TestServices.provideLive), 120_000)

    // Process handling that does not depend on the database runs on one dialect only, to keep the suite short.
    if (dialect === "sqlite") {
      it.effect("children exit by themselves when their supervisor is SIGKILLed", () =>
        Effect.gen(function*() {
          yield* reset
          const db = yield* Db
          const { child, exited } = superviseIn(db, tempFile("orphans.txt"), { ...forkConfig, dispatchers: [{}], scheduler: {} })
          yield* eventually(Effect.map(count("steady_queue_processes"), (n) => n === 4))
          const children = [...(yield* pidsOf("Worker")), ...(yield* pidsOf("Dispatcher")), ...(yield* pidsOf("Scheduler"))]
          child.kill("SIGKILL")
          yield* Effect.promise(() => exited)
          yield* eventually(Effect.sync(() => children.every((pid) => !alive(pid))))
          // They deregistered on the way out; only the killed supervisor's row is left, for pruning.
          assert.deepStrictEqual(yield* pidsOf("Worker"), [])
        }).pipe(TestServices.provideLive), 60_000)
    }

    it.effect("SIGQUIT stops at once, in async and fork mode: running jobs go back to ready without the grace period", () =>
      Effect.gen(function*() {
        for (const mode of dialect === "sqlite" ? ["async", "fork"] : ["async"]) {
          yield* reset
          const db = yield* Db
          const out = tempFile("quit.txt")
          const stuck = yield* Probe.enqueue({ label: "stuck" })
          const { child, exited } = superviseIn(db, out, {
            mode,
            shutdownTimeout: "60 seconds",
            workers: [{ threads: 1, pollingInterval: "20 millis" }]
          })
          yield* eventually(Effect.sync(() => lines(out).some((l) => l.startsWith("started stuck"))))
          const sentAt = Date.now()
          child.kill("SIGQUIT")
          const exit = yield* Effect.promise(() => exited)
          assert.strictEqual(exit.code, 0, exit.output)
          assert.isBelow(Date.now() - sentAt, 30_000, `${mode} mode waited for the grace period`)
          const job = Option.getOrThrow(yield* JobClient.find(stuck.id))
          assert.strictEqual(job.state, "ready", `${mode} mode`)
          assert.strictEqual(yield* count("steady_queue_processes"), 0)
        }
      }).pipe(TestServices.provideLive), 90_000)

    if (dialect !== "sqlite") {
      it.effect("two supervisors, as two hosts would run them, share 3,000 jobs: none twice, none left", () =>
        Effect.gen(function*() {
          yield* reset
          const db = yield* Db
          yield* enqueueShort(3000)
          const config = { shutdownTimeout: "2 seconds", workers: [{ threads: 8, pollingInterval: "20 millis" }] }
          const outs = [tempFile("host-a.txt"), tempFile("host-b.txt")]
          const hosts = outs.map((out) => superviseIn(db, out, config))
          yield* eventually(Effect.map(count("steady_queue_jobs", "finished_at IS NOT NULL"), (n) => n === 3000))
          for (const host of hosts) yield* stop(host.child, host.exited)
          const all = outs.flatMap(done)
          assert.strictEqual(all.length, 3000)
          assertNoUnexplainedRepeats(all, new Set())
          assert.isTrue(outs.every((out) => done(out).length > 0), "both hosts took work")
          assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
        }).pipe(TestServices.provideLive), 120_000)
    }
  })
