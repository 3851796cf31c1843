import { assert, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Effect, Exit, Option, TestServices } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Admin, JobClient } from "../../src/index.js"
import { Db, type DialectName, reset, suiteLayer } from "../support/databases.js"
import { count, eventually, Probe, scaled } from "../support/harness.js"
import { type Child, stopChild, startChild } from "../support/processes.js"

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

/**
 * Real-time bounds (ms, before the time scale), sized for a busy 2-core machine. A test's own timeout is the sum
 * of the waits it makes plus a margin, so a slow run fails at the wait that was too slow, saying which.
 */
const bounds = {
  /** A supervisor starts and its forked children register (each child is a node process loading the sources). */
  startup: 60_000,
  /** Jobs are worked off once the processes are up. */
  work: 60_000,
  /** A signalled supervisor exits (shutdownTimeout is 2 s). */
  exit: 30_000
}
const within = (...waits: ReadonlyArray<number>) => scaled(waits.reduce((a, b) => a + b, 0) + 20_000)

const forkConfig = {
  mode: "fork",
  shutdownTimeout: "2 seconds",
  processHeartbeatInterval: "1 second",
  workers: [{ threads: 4, pollingInterval: "20 millis" }],
  dispatchers: [],
  scheduler: null
}

/** A supervisor in a process of its own, killed if the test ends with it still running. */
const superviseIn = (db: { url: string }, out: string, config: object) =>
  startChild("test/support/child-worker.ts", [db.url, "supervisor", out], config)

const stop = (child: Child) =>
  Effect.gen(function*() {
    const exit = yield* stopChild(child, "SIGTERM", bounds.exit, "the supervisor")
    assert.strictEqual(exit.code, 0, exit.output)
  })

/** What a failed wait reports: the supervisor's output says where it was. */
const waited = (what: string, child: Child) => ({ what, detail: () => `the supervisor printed:\n${child.output()}` })

const pidsOf = (kind: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ pid: number | string }>`SELECT pid FROM steady_queue_processes WHERE kind = ${kind}`).pipe(
    Effect.map((rows) => rows.map((r) => Number(r.pid))),
    Effect.orDie
  )

/**
 * The labels of the jobs whose claims say they never started, once two reads 100 ms apart agree (a frozen
 * process's last statement may still be committing).
 */
const unstartedClaimsSettled = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const read = Effect.map(
    sql<{ arguments: string }>`SELECT j.arguments FROM steady_queue_claimed_executions c
      JOIN steady_queue_jobs j ON j.id = c.job_id WHERE c.started_at IS NULL`,
    (rows) => rows.map((r) => (JSON.parse(r.arguments) as { label: string }).label).sort()
  )
  let last = yield* read
  for (let i = 0; i < 50; i++) {
    yield* Effect.sleep("100 millis")
    const now = yield* read
    if (now.join() === last.join()) break
    last = now
  }
  return last
}).pipe(Effect.orDie)

const enqueueShort = (n: number) => JobClient.enqueueAll(Array.from({ length: n }, (_, i) => Probe.job({ label: `short-${i}` })))

/** No job ran to the end twice, except those a dead process had failed (and that were retried). */
const assertNoUnexplainedRepeats = (labels: ReadonlyArray<string>, retried: ReadonlySet<string>) => {
  const seen = new Map<string, number>()
  for (const l of labels) seen.set(l, (seen.get(l) ?? 0) + 1)
  const repeats = [...seen.entries()].filter(([l, k]) => k > 1 && !retried.has(l))
  assert.deepStrictEqual(repeats, [])
}

/** Waits until `n` forked workers (or, in async mode, worker fibers) have registered; returns their pids. */
const workersUp = (child: Child, n: number) =>
  Effect.gen(function*() {
    yield* eventually(Effect.map(pidsOf("Worker"), (pids) => pids.length >= n), {
      within: bounds.startup,
      ...waited(`${n} worker(s) registered`, child)
    })
    return yield* pidsOf("Worker")
  })

export const forkSuite = (dialect: DialectName) =>
  layer(suiteLayer(dialect), { timeout: scaled(120_000) })("fork mode", (it) => {
    it.scoped("SIGKILL a forked worker mid-stream: jobs finish once, fail with ProcessExitError and are retried, or, claimed ahead and not recorded as started, go back to ready", () =>
      Effect.gen(function*() {
        yield* reset
        const db = yield* Db
        const out = tempFile("fork-kill.txt")
        // Two gate jobs between the short ones hold two of the worker's threads until the test opens the gate:
        // when both have started, the worker surely holds jobs, while its other threads stream the short ones.
        const jobs = yield* JobClient.enqueueAll([
          ...Array.from({ length: 100 }, (_, i) => Probe.job({ label: `short-${i}` })),
          Probe.job({ label: "gate-1" }),
          Probe.job({ label: "gate-2" }),
          ...Array.from({ length: 150 }, (_, i) => Probe.job({ label: `short-${100 + i}` }))
        ])
        const supervisor = yield* superviseIn(db, out, forkConfig)
        const [worker] = yield* workersUp(supervisor, 1)
        yield* eventually(Effect.sync(() => lines(out).filter((l) => l.startsWith("started gate")).length === 2), {
          within: bounds.work,
          ...waited("both gate jobs started", supervisor)
        })
        // A job the worker started from its buffer has its start recorded with its next write: kill it once both
        // gate jobs' starts are recorded (before that, they would go back to ready, as not started).
        const gates = `job_id IN (${jobs[100].id}, ${jobs[101].id}) AND started_at IS NOT NULL`
        yield* eventually(Effect.map(count("steady_queue_claimed_executions", gates), (n) => n === 2), {
          within: bounds.work,
          ...waited("both gate jobs' starts recorded", supervisor)
        })
        // Frozen first, so that what its claims say at the kill can be read: a job it ran from its buffer whose start
        // was not written yet goes back to ready like those it never started, and runs again (at least once).
        process.kill(worker, "SIGSTOP")
        const unstarted = yield* unstartedClaimsSettled
        process.kill(worker, "SIGKILL")
        // The supervisor fails what the dead worker held and starts a new worker, which drains the rest.
        yield* eventually(Effect.gen(function*() {
          const settled = (yield* count("steady_queue_ready_executions")) === 0 &&
            (yield* count("steady_queue_claimed_executions")) === 0
          return settled && (yield* pidsOf("Worker")).some((pid) => pid !== worker)
        }), { within: bounds.startup + bounds.work, ...waited("a new worker drained the ready jobs", supervisor) })
        const failed = yield* Admin.failedJobs({ limit: 1000 })
        const failedLabels = new Set(failed.map((j) => (JSON.parse(j.arguments) as { label: string }).label))
        assert.includeMembers([...failedLabels], ["gate-1", "gate-2"], "the killed worker's jobs failed")
        assert.isTrue(failed.every((j) => Option.getOrUndefined(j.error)?.tag === "ProcessExitError"))
        fs.writeFileSync(`${out}.gate`, "")
        yield* Admin.retryAllFailed
        yield* eventually(Effect.map(count("steady_queue_jobs", "finished_at IS NOT NULL"), (n) => n === jobs.length), {
          within: bounds.work,
          ...waited(`all ${jobs.length} jobs finished after the retry`, supervisor)
        })
        assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
        assertNoUnexplainedRepeats(done(out), new Set([...failedLabels, ...unstarted]))
        yield* stop(supervisor)
        assert.strictEqual(yield* count("steady_queue_processes"), 0)
      }).pipe(TestServices.provideLive), within(bounds.startup, bounds.work, bounds.startup + bounds.work, bounds.work, bounds.exit))

    it.scoped("SIGTERM a forked supervisor mid-run: every job finishes or is back in ready, none runs twice", () =>
      Effect.gen(function*() {
        yield* reset
        const db = yield* Db
        const out = tempFile("fork-term.txt")
        // 40 jobs of 300 ms on 8 threads: at least 1.5 s of work, so the signal comes with jobs running and ready.
        yield* JobClient.enqueueAll(Array.from({ length: 40 }, (_, i) => Probe.job({ label: `slow-${i}` })))
        const supervisor = yield* superviseIn(db, out, { ...forkConfig, workers: [{ threads: 4, processes: 2, pollingInterval: "20 millis" }] })
        yield* workersUp(supervisor, 2)
        yield* eventually(Effect.sync(() => done(out).length >= 8), { within: bounds.work, ...waited("8 jobs done", supervisor) })
        yield* stop(supervisor)
        assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
        assert.strictEqual(yield* count("steady_queue_failed_executions"), 0)
        const finished = yield* count("steady_queue_jobs", "finished_at IS NOT NULL")
        assert.strictEqual(finished + (yield* count("steady_queue_ready_executions")), 40)
        assert.strictEqual(done(out).length, finished)
        assertNoUnexplainedRepeats(done(out), new Set())
        assert.strictEqual(yield* count("steady_queue_processes"), 0)
      }).pipe(TestServices.provideLive), within(bounds.startup, bounds.work, bounds.exit))

    // Process handling that does not depend on the database runs on one dialect only, to keep the suite short.
    if (dialect === "sqlite") {
      it.scoped("children exit by themselves when their supervisor is SIGKILLed", () =>
        Effect.gen(function*() {
          yield* reset
          const db = yield* Db
          const supervisor = yield* superviseIn(db, tempFile("orphans.txt"), { ...forkConfig, dispatchers: [{}], scheduler: {} })
          yield* eventually(Effect.map(count("steady_queue_processes"), (n) => n === 4), {
            within: bounds.startup,
            ...waited("the supervisor and its 3 children registered", supervisor)
          })
          const children = [...(yield* pidsOf("Worker")), ...(yield* pidsOf("Dispatcher")), ...(yield* pidsOf("Scheduler"))]
          // Should this test fail, the children it found alive must not outlive it.
          yield* Effect.addFinalizer((exit) =>
            Exit.isSuccess(exit)
              ? Effect.void
              : Effect.forEach(children.filter(alive), (pid) => Effect.ignore(Effect.try(() => process.kill(pid, "SIGKILL"))))
          )
          yield* stopChild(supervisor, "SIGKILL", bounds.exit, "the supervisor")
          yield* eventually(Effect.sync(() => children.every((pid) => !alive(pid))), {
            within: bounds.exit,
            what: "the children exited",
            detail: () => `still alive: ${children.filter(alive).join(", ")}`
          })
          // They deregistered on the way out; only the killed supervisor's row is left, for pruning.
          assert.deepStrictEqual(yield* pidsOf("Worker"), [])
        }).pipe(TestServices.provideLive), within(bounds.startup, bounds.exit, bounds.exit))
    }

    it.scoped("SIGQUIT stops at once, in async and fork mode: running jobs go back to ready without the grace period", () =>
      Effect.gen(function*() {
        const modes = dialect === "sqlite" ? ["async", "fork"] : ["async"]
        for (const mode of modes) {
          yield* reset
          const db = yield* Db
          const out = tempFile("quit.txt")
          const stuck = yield* Probe.enqueue({ label: "stuck" })
          // A grace period far beyond any bound here: waiting for it would fail the exit wait.
          const supervisor = yield* superviseIn(db, out, {
            mode,
            shutdownTimeout: "10 minutes",
            workers: [{ threads: 1, pollingInterval: "20 millis" }]
          })
          yield* eventually(Effect.sync(() => lines(out).some((l) => l.startsWith("started stuck"))), {
            within: bounds.startup,
            ...waited(`${mode} mode: the stuck job started`, supervisor)
          })
          const exit = yield* stopChild(supervisor, "SIGQUIT", bounds.exit, `the ${mode} mode supervisor`)
          assert.strictEqual(exit.code, 0, exit.output)
          const job = Option.getOrThrow(yield* JobClient.find(stuck.id))
          assert.strictEqual(job.state, "ready", `${mode} mode`)
          assert.strictEqual(yield* count("steady_queue_processes"), 0)
        }
      }).pipe(TestServices.provideLive), within(bounds.startup, bounds.exit, bounds.startup, bounds.exit))

    if (dialect !== "sqlite") {
      it.scoped("two supervisors, as two hosts would run them, share 3,000 jobs: none twice, none left", () =>
        Effect.gen(function*() {
          yield* reset
          const db = yield* Db
          const config = { shutdownTimeout: "2 seconds", workers: [{ threads: 8, pollingInterval: "20 millis" }] }
          const outs = [tempFile("host-a.txt"), tempFile("host-b.txt")]
          const hosts = yield* Effect.forEach(outs, (out) => superviseIn(db, out, config))
          // Both up before the jobs arrive, so that each takes a share however slowly the other started.
          yield* workersUp(hosts[0], 2)
          yield* enqueueShort(3000)
          yield* eventually(Effect.map(count("steady_queue_jobs", "finished_at IS NOT NULL"), (n) => n === 3000), {
            within: bounds.work,
            ...waited("3,000 jobs finished", hosts[0])
          })
          yield* Effect.forEach(hosts, stop, { concurrency: "unbounded", discard: true })
          const all = outs.flatMap(done)
          assert.strictEqual(all.length, 3000)
          assertNoUnexplainedRepeats(all, new Set())
          assert.isTrue(outs.every((out) => done(out).length > 0), "both hosts took work")
          assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
        }).pipe(TestServices.provideLive), within(bounds.startup, bounds.work, bounds.exit))
    }
  })
