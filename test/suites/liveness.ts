import { assert, layer } from "@effect/vitest"
import { SqlClient, Statement } from "@effect/sql"
import { Clock, Deferred, Duration, Effect, Option, Schema, TestClock, TestServices } from "effect"
import mysql from "mysql2/promise"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { JobClient, Task } from "../../src/index.js"
import { pruneDeadProcesses } from "../../src/internal/Prune.js"
import { Db, type DialectName, mysqlAdminUrl, reset, suiteLayer } from "../support/databases.js"
import { Frozen, frozenHandler } from "../support/frozen.js"
import { advanceUntil, awaitFinished, count, handlers, Probe, probeHandler, scaled, startWorker, subscribe } from "../support/harness.js"
import { spawnChild, waitForExit } from "../support/processes.js"

const Limited = Task.make("LivenessLimited", {
  payload: Schema.Struct({ label: Schema.String }),
  concurrency: { key: "live", limit: 2, duration: "1 day" }
})

/** The statements that take a claim to finish, fail or release a job (one per dialect's code path). */
const takesClaims = (text: string) =>
  /^\s*(WITH taken AS \(\s*)?DELETE FROM steady_queue_claimed_executions|^\s*SELECT id, job_id(, created_at, cancel_requested_at)?\s+FROM steady_queue_claimed_executions/
    .test(text)

/** Runs `effect` (and the fibers it forks) with claim-taking statements replaced by `replace` while it says so. */
const breakTakingClaims = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  replace: (sql: Statement.Constructor) => Effect.Effect<Statement.Statement<unknown>> | undefined
) =>
  Statement.withTransformer(effect, (self, sql) => (takesClaims(self.compile()[0]) ? replace(sql) : undefined) ?? Effect.succeed(self))

const errorTag = (id: number) =>
  Effect.map(JobClient.find(id), (job) => Option.getOrUndefined(Option.flatMap(job, (j) => j.error))?.tag)

/** A test in real time, its scope closed in real time too (shutdown timeouts are real). */
const live = <A, E, R>(effect: Effect.Effect<A, E, R>) => TestServices.provideLive(Effect.scoped(effect))

/** Polls `condition` in real time for up to `ms`. */
const within = <E, R>(ms: number, what: string, condition: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    while (Date.now() < deadline) {
      if (yield* condition) return
      yield* TestServices.provideLive(Effect.sleep("20 millis"))
    }
    return yield* Effect.dieMessage(`${what}: not within ${ms} ms`)
  })

/** Moves the TestClock forward `n` times by `step`, pausing a few real milliseconds after each step. */
const stepClock = (n: number, step: Duration.DurationInput) =>
  Effect.forEach(Array.from({ length: n }), () =>
    TestClock.adjust(step).pipe(Effect.zipRight(TestServices.provideLive(Effect.sleep("5 millis")))), { discard: true })

const lines = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [])

export const livenessSuite = (dialect: DialectName) =>
  layer(suiteLayer(dialect), { timeout: "60 seconds" })("liveness", (it) => {
    it.scoped("a finish that dies twice (as a lost connection's ROLLBACK does), then succeeds, is written and frees the slot", () =>
      Effect.gen(function*() {
        yield* reset
        const ran: Array<string> = []
        yield* handlers(Limited.toLayer(({ label }) => Effect.sync(() => ran.push(label))))
        const sub = yield* subscribe
        yield* JobClient.enqueueAll(["a", "b", "c"].map((label) => Limited.job({ label })))
        assert.strictEqual(yield* count("steady_queue_blocked_executions"), 1)
        let deaths = 0
        yield* breakTakingClaims(startWorker({ threads: 2 }), () => deaths++ < 2 ? Effect.dieMessage("connection lost") : undefined)
        const finished = yield* advanceUntil(awaitFinished(sub, 3), "100 millis").pipe(Effect.timeout("20 seconds"), Effect.orDie)
        assert.deepStrictEqual(finished.map((e) => e.outcome), ["succeeded", "succeeded", "succeeded"])
        assert.deepStrictEqual(ran.sort(), ["a", "b", "c"])
        assert.isAtLeast(deaths, 3)
        assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
        assert.strictEqual(yield* count("steady_queue_blocked_executions"), 0)
      }))

    // SQLite has one connection: a statement that never returns holds it, and with it the whole database.
    if (dialect !== "sqlite") {
      it.scoped("a finish that hangs (a client call that never returns) counts as failed after its bound, and is retried", () =>
        Effect.gen(function*() {
          yield* reset
          yield* handlers(probeHandler([]))
          const sub = yield* subscribe
          const job = yield* Probe.enqueue({ label: "hangs" })
          let hung = 0
          yield* breakTakingClaims(
            startWorker({ threads: 1, heartbeatInterval: "1 second", aliveThreshold: "3 seconds" }),
            () => (hung++ === 0 ? Effect.never : undefined)
          )
          const [done] = yield* advanceUntil(awaitFinished(sub, 1), "100 millis").pipe(Effect.timeout("20 seconds"), Effect.orDie)
          assert.strictEqual(done.job.id, job.id)
          assert.strictEqual(done.outcome, "succeeded")
          assert.isAtLeast(hung, 2)
          assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
        }))
    }

    it.scoped("a finish that keeps failing stops the worker: no more heartbeats or claims, pruning frees the job, and it recovers", () =>
      Effect.gen(function*() {
        yield* reset
        const ran: Array<string> = []
        yield* handlers(probeHandler(ran))
        const sub = yield* subscribe
        let failing = true
        const stuck = yield* Probe.enqueue({ label: "stuck" })
        const workerId = yield* breakTakingClaims(
          startWorker({ threads: 1, heartbeatInterval: "1 second", aliveThreshold: "3 seconds" }),
          (sql) => (failing ? Effect.succeed(sql.unsafe("SELECT * FROM steady_queue_no_such_table")) : undefined)
        )
        // Runs before the worker's shutdown, whatever happens: its release must be able to write.
        yield* Effect.addFinalizer(() => Effect.sync(() => (failing = false)))
        yield* within(20_000, "the job ran", Effect.sync(() => ran.includes("stuck")))
        const t0 = yield* Clock.currentTimeMillis
        // Its success cannot be written. Eight seconds later, with a 3 s threshold, the supervisor prunes it: the
        // worker stopped heartbeating once its outcome had waited for two.
        yield* stepClock(80, "100 millis")
        const sql = yield* SqlClient.SqlClient
        const [beat] = yield* sql<{ t: number | string }>`SELECT last_heartbeat_at AS t FROM steady_queue_processes WHERE id = ${workerId}`
        assert.isAtMost(Number(beat.t), t0 + 2000, "the worker went on heartbeating")
        const pruned = yield* pruneDeadProcesses("3 seconds", -1)
        assert.deepStrictEqual(pruned.pruned, [workerId])
        assert.strictEqual(yield* errorTag(stuck.id), "ProcessPrunedError")
        assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
        // Stopped, it claims nothing.
        const next = yield* Probe.enqueue({ label: "next" })
        yield* stepClock(30, "100 millis")
        assert.notInclude(ran, "next")
        // The database takes its writes again: its fenced finish changes nothing, it registers again and works.
        failing = false
        const [done] = yield* advanceUntil(awaitFinished(sub, 1), "100 millis").pipe(Effect.timeout("20 seconds"), Effect.orDie)
        assert.strictEqual(done.job.id, next.id)
        assert.strictEqual(yield* errorTag(stuck.id), "ProcessPrunedError")
        assert.strictEqual(yield* count("steady_queue_processes", `id = ${workerId}`), 1)
      }))

    it.scoped("a worker whose heartbeats fail for longer than the alive threshold stops its handler, and puts the job back once they go through", () =>
      Effect.gen(function*() {
        yield* reset
        const ran: Array<string> = []
        const interrupted: Array<string> = []
        const forever = yield* Deferred.make<void>()
        yield* handlers(Probe.toLayer(({ label }) =>
          Effect.suspend(() => {
            ran.push(label)
            // The first run would go on until the test ends; the second returns at once.
            return ran.length === 1 ? Deferred.await(forever) : Effect.void
          }).pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted.push(label))))
        ))
        const sub = yield* subscribe
        let failing = true
        const job = yield* Probe.enqueue({ label: "long" })
        yield* Statement.withTransformer(
          startWorker({ threads: 1, heartbeatInterval: "1 second", aliveThreshold: "3 seconds" }),
          (self, sql) =>
            Effect.succeed(
              failing && /^\s*UPDATE steady_queue_processes SET last_heartbeat_at/.test(self.compile()[0])
                ? sql.unsafe("SELECT * FROM steady_queue_no_such_table")
                : self
            )
        )
        yield* Effect.addFinalizer(() => Effect.sync(() => (failing = false)).pipe(Effect.zipRight(Deferred.succeed(forever, undefined))))
        yield* within(20_000, "the job started", Effect.sync(() => ran.length === 1))
        // Two seconds without a heartbeat, with a 3 s threshold: it stops its handler before anyone prunes it.
        yield* stepClock(25, "100 millis")
        yield* within(20_000, "the handler was interrupted", Effect.sync(() => interrupted.length === 1))
        // It wrote no failure: the job is still its claim, for pruning or for its own release.
        assert.strictEqual(yield* count("steady_queue_claimed_executions"), 1)
        assert.strictEqual(yield* count("steady_queue_failed_executions"), 0)
        // Heartbeats go through again: the job goes back to ready, and runs again.
        failing = false
        const [done] = yield* advanceUntil(awaitFinished(sub, 1), "100 millis").pipe(Effect.timeout("20 seconds"), Effect.orDie)
        assert.strictEqual(done.job.id, job.id)
        assert.strictEqual(done.outcome, "succeeded")
        assert.deepStrictEqual(ran, ["long", "long"])
      }))

    it.scoped("a poll that fails after one of its claims committed: the jobs that claim took go back to ready and run", () =>
      Effect.gen(function*() {
        yield* reset
        const ran: Array<string> = []
        yield* handlers(probeHandler(ran))
        const sub = yield* subscribe
        yield* JobClient.enqueueAll([
          Probe.job({ label: "a1" }, { queue: "lost-a" }),
          Probe.job({ label: "a2" }, { queue: "lost-a" }),
          Probe.job({ label: "b1" }, { queue: "lost-b" })
        ])
        // The claim from lost-a commits; the one from lost-b, in the same poll, dies (its connection was cut).
        let cut = 0
        const claimsFromB = (statement: Statement.Statement<unknown>) => {
          const [text, params] = statement.compile()
          return /steady_queue_ready_executions/.test(text) && /SKIP LOCKED|steady_queue_ready_of_queue|DELETE FROM steady_queue_ready_executions WHERE id IN/.test(text) &&
            params.includes("lost-b")
        }
        yield* Statement.withTransformer(
          startWorker({ queues: ["lost-a", "lost-b"], threads: 5 }),
          (self) => (claimsFromB(self) && cut++ === 0 ? Effect.dieMessage("connection lost") : Effect.succeed(self))
        )
        const finished = yield* advanceUntil(awaitFinished(sub, 3), "100 millis").pipe(Effect.timeout("20 seconds"), Effect.orDie)
        assert.deepStrictEqual(finished.map((e) => e.outcome), ["succeeded", "succeeded", "succeeded"])
        assert.deepStrictEqual(ran.sort(), ["a1", "a2", "b1"])
        assert.isAtLeast(cut, 2, "the claim from lost-b was cut once, then made again")
        assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
      }))

    it.scoped("a pruned worker interrupts the handlers of the jobs it lost, and only those: when a fenced write shows it, and at its heartbeat", () =>
      Effect.gen(function*() {
        yield* reset
        yield* TestClock.setTime(Date.parse("2030-01-01T00:00:00Z"))
        const gate = yield* Deferred.make<void>()
        const forever = yield* Deferred.make<void>()
        const started: Array<string> = []
        const interrupted: Array<string> = []
        yield* handlers(Probe.toLayer(({ label }) =>
          Effect.sync(() => started.push(label)).pipe(
            Effect.zipRight(Deferred.await(label === "quick" ? gate : forever)),
            Effect.onInterrupt(() => Effect.sync(() => interrupted.push(label)))
          )
        ))
        yield* Probe.enqueue({ label: "quick" })
        const held = yield* Probe.enqueue({ label: "held" })
        const workerId = yield* startWorker({ threads: 3, heartbeatInterval: "1 minute" })
        // Whatever happens, the handlers return before the worker shuts down.
        yield* Effect.addFinalizer(() => Effect.all([Deferred.succeed(gate, undefined), Deferred.succeed(forever, undefined)]))
        yield* within(20_000, "both jobs started", Effect.sync(() => started.length === 2))
        // Pruned while alive (as after a long pause): both claims are failed.
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE steady_queue_processes SET last_heartbeat_at = 0 WHERE id = ${workerId}`
        yield* pruneDeadProcesses("1 second", -1)
        assert.strictEqual(yield* errorTag(held.id), "ProcessPrunedError")
        // A job it claims afterwards is its own.
        const fresh = yield* Probe.enqueue({ label: "fresh" })
        yield* within(20_000, "the fresh job started", Effect.sync(() => started.includes("fresh")))
        // The quick job returns; its finish finds the claim gone, and the worker stops the other lost handler.
        yield* Deferred.succeed(gate, undefined)
        yield* within(20_000, "the lost handler was interrupted", Effect.sync(() => interrupted.includes("held")))
        assert.deepStrictEqual(interrupted, ["held"])
        // Now the fresh job's claim is failed too (its owner has no row); the next heartbeat finds the row gone and
        // stops that handler before registering again.
        yield* pruneDeadProcesses("5 minutes", -1)
        assert.strictEqual(yield* errorTag(fresh.id), "ProcessMissingError")
        yield* TestClock.adjust("1 minute")
        yield* within(20_000, "the fresh handler was interrupted", Effect.sync(() => interrupted.includes("fresh")))
        yield* within(20_000, "the worker registered again", Effect.map(count("steady_queue_processes", `id = ${workerId}`), (n) => n === 1))
        assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
      }))

    if (dialect === "mysql") {
      it.scoped("KILL CONNECTION of every connection under load: the worker goes on recording finished jobs", () =>
        live(Effect.gen(function*() {
          yield* reset
          const db = yield* Db
          const database = new URL(db.url).pathname.slice(1)
          let ran = 0
          yield* handlers(Probe.toLayer(() => Effect.sync(() => ran++).pipe(Effect.zipRight(Effect.sleep("20 millis")))))
          const total = 200
          yield* JobClient.enqueueAll(Array.from({ length: total }, (_, i) => Probe.job({ label: `${i}` })))
          yield* startWorker({ threads: 5, pollingInterval: "50 millis", heartbeatInterval: "1 second", aliveThreshold: "5 seconds" })
          yield* within(20_000, "jobs started", Effect.sync(() => ran >= 40))
          // Only the connections of this test's own database.
          const killed = yield* Effect.promise(async () => {
            const admin = await mysql.createConnection({ uri: mysqlAdminUrl })
            try {
              const [rows] = await admin.query("SELECT id FROM information_schema.processlist WHERE db = ?", [database])
              const ids = (rows as Array<{ id: number }>).map((r) => r.id)
              for (const id of ids) await admin.query(`KILL CONNECTION ${Number(id)}`).catch(() => undefined)
              return ids.length
            } finally {
              await admin.end()
            }
          })
          assert.isAbove(killed, 0)
          // The test's own connections were killed too: its first query may fail.
          const sql = yield* SqlClient.SqlClient
          const left = sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM steady_queue_jobs WHERE finished_at IS NULL`.pipe(
            Effect.map((rows) => Number(rows[0].n)),
            Effect.retry({ times: 5 }),
            Effect.orDie
          )
          // Bounded for a loaded machine; a failure says where the jobs are.
          yield* within(scaled(30_000), "every job finished", Effect.map(left, (n) => n === 0)).pipe(
            Effect.catchAllDefect(() => Effect.gen(function*() {
              const state = {
                ran,
                ready: yield* count("steady_queue_ready_executions"),
                claimed: yield* count("steady_queue_claimed_executions"),
                failed: yield* count("steady_queue_failed_executions"),
                processes: yield* count("steady_queue_processes"),
                unfinished: yield* left
              }
              return yield* Effect.dieMessage(`not every job finished within the bound: ${JSON.stringify(state)}`)
            }))
          )
          assert.strictEqual(ran, total)
          assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
        })))
    }

    it.scoped("a worker frozen past the alive threshold, pruned, stops its limited job's handler as soon as it wakes", () =>
      live(Effect.gen(function*() {
        yield* reset
        const db = yield* Db
        const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "steady-queue-frozen-")), "out")
        const here: Array<string> = []
        yield* handlers(frozenHandler((line) => here.push(line)))
        const first = yield* Frozen.enqueue({ label: "first" })
        const child = spawnChild("test/support/frozen-worker.ts", [db.url, out])
        const exited = waitForExit(child, 60_000)
        yield* Effect.addFinalizer(() =>
          Effect.promise(() => {
            child.kill("SIGCONT")
            child.kill("SIGTERM")
            return exited.catch(() => undefined)
          })
        )
        yield* within(30_000, "the child started the first job", Effect.sync(() => lines(out).some((l) => l.startsWith("started first"))))
        child.kill("SIGSTOP")
        const stoppedAt = Date.now()
        // Another worker, here, waits for the key's slot; pruning (threshold 1.5 s) fails the frozen job and frees it.
        yield* startWorker({
          threads: 1,
          pollingInterval: "50 millis",
          heartbeatInterval: "250 millis",
          aliveThreshold: "1500 millis",
          shutdownTimeout: "10 millis"
        })
        yield* within(10_000, "the frozen worker was pruned", Effect.gen(function*() {
          yield* pruneDeadProcesses("1500 millis", -1)
          return (yield* errorTag(first.id)) === "ProcessPrunedError"
        }))
        yield* Frozen.enqueue({ label: "second" })
        yield* within(10_000, "the second job started here", Effect.sync(() => here.some((l) => l.startsWith("started second"))))
        // Frozen for 3 s in all; then it wakes while the second job runs.
        yield* Effect.sleep(Math.max(0, stoppedAt + 3000 - Date.now()))
        const wokeAt = Date.now()
        child.kill("SIGCONT")
        yield* within(10_000, "the first job's handler was interrupted", Effect.sync(() => lines(out).some((l) => l.startsWith("interrupted first"))))
        const ticksAfterWaking = lines(out).filter((l) => l.startsWith("tick first") && Number(l.split(" ")[3]) >= wokeAt)
        // What remains: the frozen handler runs on until it wakes (at most the step it was in), never to the end.
        assert.isAtMost(ticksAfterWaking.length, 2, lines(out).join("\n"))
        assert.isFalse(lines(out).some((l) => l.startsWith("done first")))
        assert.isFalse(here.some((l) => l.startsWith("done second") || l.startsWith("interrupted second")), "the second job ran on")
        assert.strictEqual(yield* errorTag(first.id), "ProcessPrunedError")
      })))
  })
