import { assert, layer } from "@effect/vitest"
import { NodeContext } from "@effect/platform-node"
import { Statement } from "@effect/sql"
import { ConfigProvider, Console, Effect, Fiber, Option, Schema, TestServices } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Admin, Cli, JobClient, Task } from "../../src/index.js"
import { Db, type DialectName, reset, suiteLayer } from "../support/databases.js"
import { Sum, sumHandler } from "../support/flaky-sum.js"
import { count, eventually, handlers, Probe, scaled, startWorker } from "../support/harness.js"
import { freePort, stopChild, track, waitForExit } from "../support/processes.js"

const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  spawn(process.execPath, ["bin/steady-queue.js", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, STEADY_QUEUE_DATABASE_URL: "", NODE_NO_WARNINGS: "1", ...env }
  })

const exitOf = (args: ReadonlyArray<string>, env?: Record<string, string>) =>
  Effect.promise(() => waitForExit(cli(args, env), 30_000))

/** Runs bin/steady-queue.js in its own process and keeps stdout and stderr apart. */
const streamsOf = (args: ReadonlyArray<string>) =>
  Effect.promise(() => {
    const child = cli(args)
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += String(d)))
    child.stderr.on("data", (d) => (stderr += String(d)))
    return waitForExit(child, 30_000).then(({ code }) => ({ code, stdout, stderr }))
  })

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "steady-queue-cli-"))

/**
 * Runs the CLI on the suite's database in this process (as `bin/steady-queue.js` would, less the process start),
 * with stdout apart from stderr so that --json output parses.
 */
const runCli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const db = yield* Db
    let stdout = ""
    let stderr = ""
    const capture: Console.Console = {
      ...(yield* Effect.console),
      log: (...lines) => Effect.sync(() => void (stdout += `${lines.join(" ")}\n`)),
      error: (...lines) => Effect.sync(() => void (stderr += `${lines.join(" ")}\n`))
    }
    const code = yield* Cli.main(["node", "steady-queue", ...args]).pipe(
      Effect.withConsole(capture),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ STEADY_QUEUE_DATABASE_URL: db.url, ...env })))),
      Effect.provide(NodeContext.layer)
    )
    return { code, stdout, stderr }
  })

/** Runs the CLI with --json, expecting success, and parses what it printed. */
const runJson = <A>(args: ReadonlyArray<string>) =>
  Effect.map(runCli([...args, "--json"]), (r) => {
    assert.strictEqual(r.code, 0, r.stdout + r.stderr)
    return JSON.parse(r.stdout) as A
  })

interface JobsJson {
  readonly jobs: ReadonlyArray<{ readonly id: number; readonly state: string; readonly error: { readonly message: string } | null }>
  readonly next: number | null
}
interface QueuesJson {
  readonly queues: ReadonlyArray<{ readonly name: string; readonly size: number; readonly paused: boolean }>
}
interface StatusJson extends QueuesJson {
  readonly processes: ReadonlyArray<{ readonly kind: string; readonly pid: number }>
  readonly states: ReadonlyArray<{ readonly state: string; readonly count: number; readonly capped: boolean }>
}

interface AttemptJson {
  readonly attempt: number
  readonly error: { readonly tag: string; readonly message: string }
  readonly processId: number | null
  readonly startedAt: string | null
  readonly finishedAt: string
}
interface JobJson {
  readonly id: number
  readonly state: string
  readonly attempts: number
  readonly arguments: unknown
  readonly result: unknown
  readonly attemptHistory: ReadonlyArray<AttemptJson>
  readonly nextRetryAt: string | null
  readonly timeoutMs: number | null
  readonly maxAttempts: number | null
  readonly cancelRequested: boolean
  readonly startedAt: string | null
  readonly finishedAt: string | null
}


/** Runs until interrupted. */
const Forever = Task.make("Forever", { payload: Schema.Struct({}), queue: "forever" })

const stateOf = (id: number) => Effect.map(JobClient.find(id), Option.map((j) => j.state))

/** Enqueues `n` Probe jobs on queue "cli" and has a worker fail them all; returns their ids, oldest first. */
const failedJobs = (n: number) =>
  Effect.scoped(Effect.gen(function*() {
    const jobs = yield* JobClient.enqueueAll(Array.from({ length: n }, (_, i) => Probe.job({ label: `f${i}` }, { queue: "cli" })))
    yield* handlers(Probe.toLayer(() => Effect.fail("boom")))
    yield* startWorker({ queues: ["cli"] })
    yield* eventually(Effect.map(count("steady_queue_failed_executions"), (k) => k === n))
    return jobs.map((j) => j.id)
  }))

export const cliSuite = (dialect: DialectName) =>
  layer(suiteLayer(dialect), { timeout: "60 seconds" })("cli", (it) => {
    it.effect("migrate takes the database from --database-url or STEADY_QUEUE_DATABASE_URL, and says what is missing", () =>
      Effect.gen(function*() {
        const db = yield* Db
        const byEnv = yield* runCli(["migrate"]) // in process, with STEADY_QUEUE_DATABASE_URL set
        assert.strictEqual(byEnv.code, 0, byEnv.stderr)
        if (dialect !== "sqlite") return // the rest does not depend on the database
        // As a user runs it, in its own process.
        const byFlag = yield* exitOf(["migrate", "--database-url", db.url])
        assert.strictEqual(byFlag.code, 0, byFlag.output)
        assert.include(byFlag.output, "schema up to date") // the suite's layer migrated it already
        const missing = yield* exitOf(["migrate"])
        assert.strictEqual(missing.code, 1)
        assert.include(missing.output, "pass --database-url or set STEADY_QUEUE_DATABASE_URL")
        const badUrl = yield* runCli(["migrate", "--database-url", "oracle://nope"])
        assert.strictEqual(badUrl.code, 1)
        assert.include(badUrl.stderr, "unsupported database URL")
      }).pipe(TestServices.provideLive), 60_000)

    // The CLI as a user starts it: bin/steady-queue.js loads itself and the configuration module through tsx,
    // seconds of CPU on a busy machine, so the waits are bounded from the time scale, one after the other.
    it.scoped("start runs the supervisor from a configuration module until SIGTERM", () =>
      Effect.gen(function*() {
        yield* reset
        const db = yield* Db
        const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "steady-queue-")), "cli.txt")
        yield* Probe.enqueue({ label: "via-cli" })
        const child = yield* track(() => cli(["start", "--config", "test/support/cli.config.ts"], { STEADY_QUEUE_DATABASE_URL: db.url, PROBE_OUT: out }))
        yield* eventually(Effect.map(count("steady_queue_jobs", "finished_at IS NOT NULL"), (n) => n === 1), {
          within: 90_000,
          what: "the job finished by the started supervisor",
          detail: () => `steady-queue start printed:\n${child.output()}`
        })
        assert.deepStrictEqual(fs.readFileSync(out, "utf8").trim().split("\n"), ["via-cli"])
        const exit = yield* stopChild(child, "SIGTERM", 30_000, "steady-queue start")
        assert.strictEqual(exit.code, 0, exit.output)
        assert.strictEqual(yield* count("steady_queue_processes"), 0)
      }).pipe(TestServices.provideLive), scaled(140_000))

    it.effect("jobs list, retry and discard change the database and report what they did", () =>
      Effect.gen(function*() {
        yield* reset
        const [f1, f2, f3] = yield* failedJobs(3)
        const ready = yield* JobClient.enqueueAll([
          Probe.job({ label: "r1" }, { queue: "q" }),
          Probe.job({ label: "r2" }, { queue: "q" }),
          Probe.job({ label: "r3" }, { queue: "keep" })
        ])

        const page = yield* runJson<JobsJson>(["jobs", "list", "--state", "failed", "--limit", "2"])
        assert.deepStrictEqual(page.jobs.map((j) => j.id), [f3, f2])
        assert.deepStrictEqual(page.jobs.map((j) => [j.state, j.error?.message]), [["failed", "boom"], ["failed", "boom"]])
        assert.strictEqual(page.next, f2)

        const human = yield* runCli(["jobs", "list", "--limit", "1", "--before", String(f2)])
        assert.strictEqual(human.code, 0, human.stderr)
        const [header, row, next] = human.stdout.trimEnd().split("\n")
        assert.match(header, /^\s*ID\s+TASK\s+QUEUE\s+PRIORITY\s+ATTEMPT\s+SINCE\s+ERROR$/)
        assert.match(row, new RegExp(`^\\s*${f1}\\s+Probe\\s+cli\\s+0\\s+1\\s+.+ ago\\s+Error: boom$`)) // failed on its first run
        assert.strictEqual(next, undefined) // f1 is the last page

        const retried = yield* runCli(["jobs", "retry", String(f3), "999999"])
        assert.strictEqual(retried.code, 1, retried.stdout + retried.stderr)
        assert.include(retried.stdout, "retried 1 job(s)", retried.stderr)
        assert.include(retried.stderr, "job 999999 does not exist")
        assert.deepStrictEqual(yield* stateOf(f3), Option.some("ready" as const))

        const discarded = yield* runCli(["jobs", "discard", String(f2)])
        assert.strictEqual(discarded.code, 0, discarded.stderr)
        assert.include(discarded.stdout, "discarded 1 job(s)")
        assert.isTrue(Option.isNone(yield* JobClient.find(f2)))

        assert.deepStrictEqual(yield* runJson(["jobs", "retry", "--all", "--queue", "cli"]), { retried: 1, errors: [] })
        assert.deepStrictEqual(yield* stateOf(f1), Option.some("ready" as const))
        assert.strictEqual(yield* count("steady_queue_failed_executions"), 0)

        const all = yield* runJson(["jobs", "discard", "--all", "--state", "ready", "--queue", "q"])
        assert.deepStrictEqual(all, { discarded: 2, errors: [] })
        assert.isTrue(Option.isNone(yield* JobClient.find(ready[0].id)))
        assert.isTrue(Option.isNone(yield* JobClient.find(ready[1].id)))
        assert.deepStrictEqual(yield* stateOf(ready[2].id), Option.some("ready" as const)) // another queue
        assert.strictEqual(yield* count("steady_queue_ready_executions"), 3) // f1, f3 and r3

        if (dialect !== "sqlite") return // usage errors do not depend on the database
        const usage = yield* runCli(["jobs", "retry", "1", "--all"])
        assert.strictEqual(usage.code, 1)
        assert.include(usage.stderr, "give job ids or --all, not both")
        // The same through bin/steady-queue.js, in its own process: the exit code and the one-line message.
        const db = yield* Db
        const spawned = yield* exitOf(["jobs", "retry", "999999"], { STEADY_QUEUE_DATABASE_URL: db.url })
        assert.strictEqual(spawned.code, 1, spawned.output)
        assert.include(spawned.output, "job 999999 does not exist")
        assert.notInclude(spawned.output, "    at ") // no stack trace
      }).pipe(TestServices.provideLive), 90_000)

    it.effect("jobs show prints a job in full, its result and failed attempts, and --json the same as one document", () =>
      Effect.gen(function*() {
        yield* reset
        const [summed, failed] = yield* Effect.scoped(Effect.gen(function*() {
          yield* handlers(sumHandler)
          yield* startWorker({ queues: ["sums"] })
          const summed = yield* Sum.enqueue({ failures: 2 })
          const failed = yield* Sum.enqueue({ failures: 3 })
          yield* summed.await({ timeout: "30 seconds" })
          yield* Effect.flip(failed.await({ timeout: "30 seconds" }))
          return [summed, failed] as const
        }))

        const job = yield* runJson<JobJson>(["jobs", "show", String(summed.id)])
        assert.deepStrictEqual(
          [job.id, job.state, job.attempts, job.arguments, job.result, job.timeoutMs, job.maxAttempts, job.nextRetryAt, job.cancelRequested],
          [summed.id, "finished", 2, { failures: 2 }, { total: 42 }, 60_000, 3, null, false]
        )
        assert.deepStrictEqual(job.attemptHistory.map((a) => [a.attempt, a.error.tag, a.error.message]), [
          [1, "Flaky", "attempt 1 flaked"],
          [2, "Flaky", "attempt 2 flaked"]
        ])
        for (const a of job.attemptHistory) {
          assert.isNumber(a.processId)
          assert.isAtMost(Date.parse(a.startedAt!), Date.parse(a.finishedAt))
        }
        assert.isNotNull(job.startedAt)
        assert.isNotNull(job.finishedAt)

        const human = yield* runCli(["jobs", "show", String(summed.id)])
        assert.strictEqual(human.code, 0, human.stderr)
        assert.match(human.stdout, new RegExp(`^job\\s+${summed.id}\\n`))
        assert.match(human.stdout, /\nstate\s+finished\n/)
        assert.match(human.stdout, /\nattempt\s+3 of 3\n/)
        assert.match(human.stdout, /\ntimeout\s+1m 0s\n/)
        assert.notMatch(human.stdout, /next retry/)
        assert.include(human.stdout, "\n\nPayload\n  {\n    \"failures\": 2\n  }\n")
        assert.include(human.stdout, "\n\nResult\n  {\n    \"total\": 42\n  }\n")
        assert.match(human.stdout, /\n\nFailed attempts\n\s*ATTEMPT\s+PROCESS\s+STARTED\s+FINISHED\s+TOOK\s+ERROR\n/)
        assert.match(human.stdout, /\n\s+1\s+\d+\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\s+.+UTC\s+\d+ms\s+Flaky: attempt 1 flaked\n/)
        assert.match(human.stdout, /\n\s+2\s+\d+\s+.+Flaky: attempt 2 flaked\n$/)

        // Failed for good: its last error, with every attempt.
        const gaveUp = yield* runJson<JobJson>(["jobs", "show", String(failed.id)])
        assert.deepStrictEqual([gaveUp.state, gaveUp.result, gaveUp.attemptHistory.length], ["failed", null, 3])
        const gaveUpText = yield* runCli(["jobs", "show", String(failed.id)])
        assert.include(gaveUpText.stdout, "\n\nError\n  Flaky: attempt 3 flaked\n")
        assert.notInclude(gaveUpText.stdout, "Result")

        const missing = yield* runCli(["jobs", "show", "999999"])
        assert.deepStrictEqual([missing.code, missing.stdout], [1, ""])
        assert.include(missing.stderr, "job 999999 does not exist")
      }).pipe(TestServices.provideLive), 90_000)

    it.effect("jobs cancel says what it did to each job: cancelled, asked its worker to stop it, or had already ended", () =>
      Effect.gen(function*() {
        yield* reset
        const [ready, later] = yield* JobClient.enqueueAll([Probe.job({ label: "r" }), Probe.job({ label: "l" }, { delay: "1 hour" })])

        const cancelled = yield* runCli(["jobs", "cancel", String(ready.id), String(later.id), "999999", String(ready.id)])
        assert.strictEqual(cancelled.code, 1, cancelled.stdout + cancelled.stderr) // one of them does not exist
        assert.strictEqual(cancelled.stdout, `cancelled job ${ready.id}\ncancelled job ${later.id}\n`)
        assert.include(cancelled.stderr, "job 999999 does not exist")
        assert.deepStrictEqual(yield* stateOf(ready.id), Option.some("cancelled" as const))
        assert.deepStrictEqual(yield* stateOf(later.id), Option.some("cancelled" as const))

        const again = yield* runCli(["jobs", "cancel", String(ready.id)])
        assert.deepStrictEqual([again.code, again.stdout, again.stderr], [0, `job ${ready.id} had already ended\n`, ""])
        const listed = yield* runJson<JobsJson>(["jobs", "list", "--state", "cancelled"])
        assert.deepStrictEqual(listed.jobs.map((j) => [j.id, j.state]), [[later.id, "cancelled"], [ready.id, "cancelled"]])

        // A running job: its worker is asked to stop it, and does.
        const running = yield* Forever.enqueue({})
        yield* Effect.scoped(Effect.gen(function*() {
          yield* handlers(Forever.toLayer(() => Effect.never))
          yield* startWorker({ queues: ["forever"] })
          yield* eventually(Effect.map(stateOf(running.id), (s) => Option.getOrUndefined(s) === "claimed"))
          const asked = yield* runCli(["jobs", "cancel", String(running.id), "999999", "--json"])
          assert.deepStrictEqual([asked.code, asked.stderr], [1, ""]) // the refusal is in the document
          assert.deepStrictEqual(JSON.parse(asked.stdout), {
            jobs: [{ id: running.id, outcome: "requested" }],
            errors: [{ id: 999999, error: "JobNotFoundError", message: "job 999999 does not exist" }]
          })
          yield* eventually(Effect.map(stateOf(running.id), (s) => Option.getOrUndefined(s) === "cancelled"), { what: "the job cancelled by its worker" })
        }))
        assert.deepStrictEqual(yield* runJson(["jobs", "cancel", String(running.id)]), { jobs: [{ id: running.id, outcome: "ended" }], errors: [] })
        const shown = yield* runJson<JobJson>(["jobs", "show", String(running.id)])
        assert.deepStrictEqual([shown.state, shown.cancelRequested], ["cancelled", false])

        if (dialect !== "sqlite") return // usage errors do not depend on the database
        const none = yield* runCli(["jobs", "cancel"])
        assert.strictEqual(none.code, 1)
        assert.include(none.stderr, "give the ids of the jobs")
      }).pipe(TestServices.provideLive), 90_000)

    it.effect("queues pause, list and resume, and status shows processes, queues and job counts", () =>
      Effect.gen(function*() {
        yield* reset
        yield* JobClient.enqueueAll([Probe.job({ label: "a" }, { queue: "q" }), Probe.job({ label: "b" }, { queue: "q" })])

        const paused = yield* runCli(["queues", "pause", "q"])
        assert.strictEqual(paused.code, 0, paused.stderr)
        assert.include(paused.stdout, "paused queue q")
        assert.deepStrictEqual(yield* Admin.pausedQueues, ["q"])
        const listed = yield* runJson<QueuesJson>(["queues", "list"])
        assert.deepStrictEqual(listed.queues.map((q) => [q.name, q.size, q.paused]), [["q", 2, true]])

        const resumed = yield* runCli(["queues", "resume", "q"])
        assert.strictEqual(resumed.code, 0, resumed.stderr)
        assert.include(resumed.stdout, "resumed queue q")
        assert.deepStrictEqual(yield* Admin.pausedQueues, [])

        const invalid = yield* runCli(["queues", "pause", "a*"])
        assert.strictEqual(invalid.code, 1)
        assert.include(invalid.stderr, "queue name must not contain '*'")
        assert.notInclude(invalid.stderr, "    at ") // a message, not a stack trace
        assert.deepStrictEqual(yield* Admin.pausedQueues, [])

        // A worker on another queue, so that there is a process to show.
        const [status, human] = yield* Effect.scoped(Effect.gen(function*() {
          yield* startWorker({ queues: ["elsewhere"] })
          return yield* Effect.all([runJson<StatusJson>(["status"]), runCli(["status"])], { concurrency: 2 })
        }))
        assert.deepStrictEqual(status.processes.map((p) => [p.kind, p.pid]), [["Worker", process.pid]])
        assert.deepStrictEqual(status.queues.map((q) => [q.name, q.size, q.paused]), [["q", 2, false]])
        assert.deepStrictEqual(status.states.find((s) => s.state === "ready"), { state: "ready", count: 2, capped: false })
        assert.isDefined(status.states.find((s) => s.state === "in-progress"))
        assert.strictEqual(human.code, 0, human.stderr)
        assert.match(human.stdout, /^Processes\n\s*KIND\s+NAME\s+PID\s+HOST\s+HEARTBEAT\s+JOBS\n\s*Worker\s/)
        assert.match(human.stdout, /\nQueues\n\s*NAME\s+SIZE\s+LATENCY\s+PAUSED\nq\s+2\s+\S+\s+no\n/)
        assert.match(human.stdout, /\nJobs\nSTATE\s+COUNT\n/)
        assert.match(human.stdout, /\nready\s+2\n/)
      }).pipe(TestServices.provideLive), 90_000)

    it.effect("dashboard serves the pages behind basic auth until stopped, and will not listen openly without a password", () =>
      Effect.gen(function*() {
        yield* reset
        yield* Probe.enqueue({ label: "seen" }, { queue: "standalone" })
        const port = yield* Effect.promise(freePort)
        // In process (the pages are the same whatever serves them); interrupted like Ctrl-C would.
        const server = yield* Effect.fork(
          runCli(["dashboard", "--port", String(port)], { STEADY_QUEUE_DASHBOARD_PASSWORD: "pw" })
        )
        const fetchPage = (auth?: string) =>
          Effect.promise(() =>
            fetch(`http://127.0.0.1:${port}/`, { headers: auth === undefined ? {} : { authorization: auth } })
              .then(async (r) => ({ status: r.status, body: await r.text() }))
              .catch(() => ({ status: 0, body: "" }))
          )
        const authorized = `Basic ${Buffer.from("admin:pw").toString("base64")}`
        yield* eventually(Effect.map(fetchPage(authorized), (r) => r.status === 200))
        assert.include((yield* fetchPage(authorized)).body, "data-queue=\"standalone\"")
        assert.strictEqual((yield* fetchPage()).status, 401)
        yield* Fiber.interrupt(server)
        assert.strictEqual((yield* fetchPage(authorized)).status, 0) // closed

        const open = yield* runCli(["dashboard", "--host", "0.0.0.0"])
        assert.strictEqual(open.code, 1)
        assert.include(open.stderr, "refusing to serve the dashboard on 0.0.0.0 without a password")
        const empty = yield* runCli(["dashboard", "--host", "0.0.0.0", "--password", ""])
        assert.strictEqual(empty.code, 1) // an empty password is no password
        assert.include(empty.stderr, "without a password")
      }).pipe(TestServices.provideLive), 60_000)

    it.effect("a database that cannot be used is one line on stderr and exit 1, without a stack and within the timeout", () =>
      Effect.gen(function*() {
        /** Runs `args` against `url` in process; checks the one line on stderr, nothing on stdout, and the time. */
        const refused = (url: string, args: ReadonlyArray<string>, expected: RegExp) =>
          Effect.gen(function*() {
            const started = Date.now()
            const r = yield* runCli([...args, "--database-url", url])
            assert.strictEqual(r.code, 1, r.stdout + r.stderr)
            assert.strictEqual(r.stdout, "")
            assert.strictEqual(r.stderr.trimEnd().split("\n").length, 1, r.stderr)
            assert.match(r.stderr, /^steady-queue: /)
            assert.match(r.stderr, expected)
            assert.isBelow(Date.now() - started, 6_000) // the 5 s connection timeout, and refusals are immediate
            return r.stderr
          })
        if (dialect === "pg") {
          const closed = yield* Effect.promise(freePort)
          yield* refused(`postgres://postgres@127.0.0.1:${closed}/test`, ["jobs", "list"], /cannot use the database at postgres:\/\/postgres@127\.0\.0\.1:\d+\/test: .*ECONNREFUSED/)
          yield* refused(`postgres://postgres@127.0.0.1:${closed}/test`, ["migrate"], /ECONNREFUSED/)
        }
        if (dialect === "mysql") {
          const line = yield* refused("mysql://steady_queue_nobody:wrong-pw@127.0.0.1:3306/test", ["queues", "list"], /Access denied for user 'steady_queue_nobody'/)
          assert.include(line, "mysql://steady_queue_nobody:***@127.0.0.1:3306/test")
          assert.notInclude(line, "wrong-pw")
        }
        if (dialect !== "sqlite") return
        const dir = tempDir()
        const missing = path.join(dir, "missing.db")
        for (const args of [["jobs", "list"], ["queues", "list"], ["queues", "pause", "q"], ["jobs", "retry", "1"], ["status"]]) {
          yield* refused(`sqlite:${missing}`, args, /no SQLite database at .*missing\.db \(steady-queue migrate creates it\)/)
        }
        assert.isFalse(fs.existsSync(missing)) // a read-only command does not create it
        const empty = path.join(dir, "empty.db")
        fs.writeFileSync(empty, "")
        yield* refused(`sqlite:${empty}`, ["jobs", "list"], /has no steady-queue tables; run steady-queue migrate first/)
        // As a user runs it: stdout empty, one line on stderr, exit code 1.
        const spawned = yield* streamsOf(["queues", "list", "--database-url", `sqlite:${missing}`])
        assert.deepStrictEqual(spawned, {
          code: 1,
          stdout: "",
          stderr: `steady-queue: no SQLite database at ${missing} (steady-queue migrate creates it)\n`
        })
        assert.isFalse(fs.existsSync(missing))
        // migrate creates it; then the commands work.
        assert.strictEqual((yield* runCli(["migrate", "--database-url", `sqlite:${missing}`])).code, 0)
        const listed = yield* runCli(["queues", "list", "--database-url", `sqlite:${missing}`])
        assert.deepStrictEqual([listed.code, listed.stdout], [0, "no queues\n"])
      }).pipe(TestServices.provideLive), 60_000)

    it.effect("jobs list refuses a --limit outside 1..1000; queues pause and resume mask control characters and say what they did", () =>
      Effect.gen(function*() {
        yield* reset
        for (const limit of ["0", "-1", "5000", "1.5"]) {
          const r = yield* runCli(["jobs", "list", `--limit=${limit}`])
          assert.strictEqual(r.code, 1, `${limit}: ${r.stdout}`)
          assert.strictEqual(r.stdout, "")
          if (limit !== "1.5") assert.include(r.stderr, `--limit must be from 1 to 1000, not ${limit}`)
        }
        assert.strictEqual((yield* runCli(["jobs", "list", "--limit", "1000"])).code, 0)

        const escape = "a\u001b[2Jb\u009b"
        const bad = yield* runCli(["queues", "pause", escape])
        assert.strictEqual(bad.code, 1)
        assert.notMatch(bad.stdout + bad.stderr, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/) // nothing raw but newlines
        assert.include(bad.stderr, "cannot pause \"a?[2Jb?\": queue name must not contain control characters")
        assert.strictEqual(yield* count("steady_queue_pauses"), 0)

        // A queue no job was ever enqueued on: paused, with a warning that the name may be wrong.
        const unknown = yield* runCli(["queues", "pause", "nosuchqueue"])
        assert.strictEqual(unknown.code, 0, unknown.stderr)
        assert.strictEqual(unknown.stdout, "paused queue nosuchqueue\n")
        assert.include(unknown.stderr, "warning: queue nosuchqueue has no jobs; check the name")
        assert.strictEqual((yield* runCli(["queues", "pause", "nosuchqueue"])).stdout, "queue nosuchqueue was already paused\n")
        yield* Probe.enqueue({ label: "x" }, { queue: "known" })
        const known = yield* runCli(["queues", "pause", "known"])
        assert.deepStrictEqual([known.code, known.stdout, known.stderr], [0, "paused queue known\n", ""])
        assert.strictEqual((yield* runCli(["queues", "resume", "nosuchqueue"])).stdout, "resumed queue nosuchqueue\n")
        assert.strictEqual((yield* runCli(["queues", "resume", "nosuchqueue"])).stdout, "queue nosuchqueue was not paused\n")
        assert.deepStrictEqual(yield* Admin.pausedQueues, ["known"])
      }).pipe(TestServices.provideLive), 60_000)

    it.effect("a statement of the store that fails on the way is one line on stderr, the driver's message in it, and exit 1", () =>
      Effect.gen(function*() {
        yield* reset
        const r = yield* runCli(["jobs", "list", "--state", "ready"]).pipe(
          Statement.withTransformer((self, sql) =>
            Effect.succeed(/FROM steady_queue_ready_executions e\b/.test(self.compile()[0])
              ? sql`SELECT * FROM steady_queue_no_such_table`
              : self)
          )
        )
        assert.strictEqual(r.code, 1, r.stdout)
        assert.strictEqual(r.stdout, "")
        assert.match(r.stderr, /^steady-queue: database error: .*steady_queue_no_such_table/)
        assert.strictEqual(r.stderr.trim().split("\n").length, 1, r.stderr)
      }).pipe(TestServices.provideLive), 60_000)
  })
