/**
 * Repeated stop signals, as a terminal and tsx deliver them: Ctrl-C reaches every process of the foreground group,
 * and the `tsx` command forwards the signal it got to its child as well. A second SIGINT/SIGTERM during a graceful
 * shutdown must stop at once (like SIGQUIT), never kill the process with its claims and process rows left.
 * One dialect is enough: this is process handling, not SQL.
 */
import { assert, it as effectIt, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Deferred, Effect, Option, TestServices } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, inject } from "vitest"
import { JobClient } from "../../src/index.js"
import * as Signals from "../../src/internal/Signals.js"
import { Db, reset, suiteLayer } from "../support/databases.js"
import { count, eventually, Probe, scaled } from "../support/harness.js"
import { awaitExit, type Child, track } from "../support/processes.js"
import { isolated, listenerCounts } from "../support/signals.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const script = "test/support/child-worker.ts"

/** How the supervisor's program is run: the test bundle with plain node, `node --import tsx`, or the `tsx` command. */
type Runner = "bundle" | "node --import tsx" | "tsx"

const bundles = (): Record<string, string> => {
  try {
    return inject("childBundles")
  } catch {
    return {} // not under vitest's global setup
  }
}

const commandFor = (runner: Runner): [string, Array<string>] => {
  if (runner === "tsx") return [path.join(root, "node_modules/.bin/tsx"), [path.join(root, script)]]
  const bundle = runner === "bundle" ? bundles()[script] : undefined
  return [process.execPath, bundle !== undefined && fs.existsSync(bundle) ? [bundle] : ["--import", "tsx", path.join(root, script)]]
}

/** Detached: in a process group of its own, which the test signals as a terminal signals its foreground group. */
const supervise = (runner: Runner, url: string, out: string, config: object) =>
  track((): ChildProcess => {
    const [command, args] = commandFor(runner)
    return spawn(command, [...args, url, "supervisor", out], {
      cwd: root,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NODE_NO_WARNINGS: "1", STEADY_QUEUE_CONFIG: JSON.stringify(config) }
    })
  })

const bounds = {
  /** The supervisor starts and its stuck job runs (tsx compiles the sources: several seconds on a busy machine). */
  startup: 60_000,
  /** A supervisor told to stop at once exits. */
  exit: 20_000
}
const within = (...waits: ReadonlyArray<number>) => scaled(waits.reduce((a, b) => a + b, 0) + 20_000)

const tempFile = (name: string) => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "steady-queue-")), name)
const lines = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [])

const kinds = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ kind: string }>`SELECT kind FROM steady_queue_processes ORDER BY kind`).pipe(
  Effect.map((rows) => rows.map((r) => r.kind).join(",")),
  Effect.orDie
)

/** The stuck job, which never ends by itself, is running in the supervisor's worker. */
const stuckRunning = (child: Child, out: string, what: string) =>
  eventually(Effect.sync(() => lines(out).some((l) => l.startsWith("started stuck"))), {
    within: bounds.startup,
    what: `${what}: the stuck job started`,
    detail: () => `the supervisor printed:\n${child.output()}`
  })

const send = (child: Child, signal: NodeJS.Signals, group: boolean) =>
  Effect.sync(() => process.kill(group ? -child.process.pid! : child.process.pid!, signal))

/** Exited with code 0, the stuck job back in ready (neither claimed nor failed), no process row left. */
const assertStoppedCleanly = (child: Child, stuckId: number, what: string) =>
  Effect.gen(function*() {
    const exit = yield* awaitExit(child, bounds.exit, `${what}: the supervisor`)
    const job = Option.getOrThrow(yield* JobClient.find(stuckId))
    const rows = yield* kinds
    const detail = `${what}: exit ${exit.signal ?? exit.code}, stuck job ${job.state}, process rows [${rows}]; it printed:\n${exit.output}`
    assert.strictEqual(job.state, "ready", detail)
    assert.strictEqual(rows, "", detail)
    assert.strictEqual(exit.code, 0, detail)
  })

interface Run {
  readonly runner: Runner
  readonly mode: "async" | "fork"
  readonly signal: NodeJS.Signals
  /** Sent to the supervisor's process group (every process in it gets it, as with Ctrl-C) rather than to it alone. */
  readonly group: boolean
}

const describeRun = (run: Run) =>
  `${run.runner}, ${run.mode} mode, ${run.signal} twice to the ${run.group ? "process group" : "supervisor"}`

/** A stuck job and a grace period of 10 minutes: only an immediate stop ends this within the bounds. */
const twoSignals = (run: Run) =>
  Effect.gen(function*() {
    const what = describeRun(run)
    yield* reset
    const db = yield* Db
    const out = tempFile("signals.txt")
    const stuck = yield* Probe.enqueue({ label: "stuck" })
    const child = yield* supervise(run.runner, db.url, out, {
      mode: run.mode,
      shutdownTimeout: "10 minutes",
      workers: [{ threads: 1, pollingInterval: "20 millis" }]
    })
    yield* stuckRunning(child, out, what)
    yield* send(child, run.signal, run.group)
    yield* TestServices.provideLive(Effect.sleep("50 millis"))
    yield* send(child, run.signal, run.group)
    yield* assertStoppedCleanly(child, stuck.id, what)
  })

export const signalsSuite = () =>
  layer(suiteLayer("sqlite"), { timeout: scaled(120_000) })("repeated stop signals", (it) => {
    it.scoped("a second SIGINT or SIGTERM 50 ms after the first stops at once, in async and fork mode", () =>
      Effect.forEach([
        { runner: "bundle", mode: "async", signal: "SIGINT", group: false },
        { runner: "bundle", mode: "async", signal: "SIGTERM", group: false },
        // Every child gets both INTs from the "terminal" and a TERM from the supervisor: the supervisor decides.
        { runner: "bundle", mode: "fork", signal: "SIGINT", group: true }
      ] as const, twoSignals, { discard: true }).pipe(TestServices.provideLive), within(...Array(3).fill(bounds.startup + bounds.exit)))

    it.scoped("under node --import tsx, a second SIGINT 50 ms after the first stops at once", () =>
      twoSignals({ runner: "node --import tsx", mode: "async", signal: "SIGINT", group: false }).pipe(TestServices.provideLive),
      within(bounds.startup, bounds.exit))

    it.scoped("under the tsx command, a Ctrl-C that tsx forwards shuts down gracefully; a second one stops at once", () =>
      Effect.gen(function*() {
        const what = "tsx command"
        yield* reset
        const db = yield* Db
        const out = tempFile("tsx.txt")
        const stuck = yield* Probe.enqueue({ label: "stuck" })
        const child = yield* supervise("tsx", db.url, out, {
          shutdownTimeout: "10 minutes",
          workers: [{ threads: 1, pollingInterval: "20 millis" }]
        })
        yield* stuckRunning(child, out, what)
        // To tsx alone: it passes the signal on to the node process that runs the supervisor.
        yield* send(child, "SIGINT", false)
        // Graceful: the dispatcher and the scheduler deregister, the worker waits for its job's grace period.
        yield* eventually(Effect.map(kinds, (k) => k === "Supervisor,Worker"), {
          within: bounds.exit,
          what: `${what}: the graceful shutdown began`,
          detail: () => `the supervisor printed:\n${child.output()}`
        })
        assert.isFalse(child.hasExited(), child.output())
        yield* send(child, "SIGINT", false)
        yield* assertStoppedCleanly(child, stuck.id, what)
      }).pipe(TestServices.provideLive), within(bounds.startup, bounds.exit, bounds.exit))

    it.scoped("Ctrl-C once in fork mode: children that get INT from the terminal and TERM from the supervisor stop gracefully", () =>
      Effect.gen(function*() {
        const what = "fork mode, SIGINT once to the process group"
        yield* reset
        const db = yield* Db
        const out = tempFile("fork-int.txt")
        const stuck = yield* Probe.enqueue({ label: "stuck" })
        const child = yield* supervise("bundle", db.url, out, {
          mode: "fork",
          shutdownTimeout: "1 second",
          workers: [{ threads: 1, pollingInterval: "20 millis" }]
        })
        yield* stuckRunning(child, out, what)
        yield* send(child, "SIGINT", true)
        yield* assertStoppedCleanly(child, stuck.id, what)
        assert.strictEqual(yield* count("steady_queue_failed_executions"), 0)
      }).pipe(TestServices.provideLive), within(bounds.startup, bounds.exit))
  })

/** What `NodeRuntime.runMain` installs: one handler for both signals, removed when it first runs. */
const runMainLike = () => {
  let interrupted = 0
  const onSignal = () => {
    interrupted++
    process.removeListener("SIGINT", onSignal)
    process.removeListener("SIGTERM", onSignal)
  }
  return {
    install: () => {
      process.on("SIGINT", onSignal)
      process.on("SIGTERM", onSignal)
    },
    interrupted: () => interrupted
  }
}


/** The handlers themselves, in this process, with emitted signals: each ordering and fallback is fast to check. */
export const signalHandlersSuite = () =>
  describe("stop signal handlers", () => {
    for (const order of ["before", "after"] as const) {
      for (const signal of ["SIGINT", "SIGTERM"] as const) {
        effectIt.effect(`runMain installed ${order} the supervisor: the first ${signal} is runMain's, the second quits`, () =>
          isolated((kill) =>
            Effect.gen(function*() {
              const runMain = runMainLike()
              if (order === "before") runMain.install()
              const signals = yield* Signals.install({ escalates: true })
              if (order === "after") runMain.install()
              process.emit(signal)
              assert.strictEqual(runMain.interrupted(), 1)
              assert.isFalse(yield* Deferred.isDone(signals.quit), "the first signal is a graceful shutdown")
              process.emit(signal)
              assert.isTrue(yield* Deferred.isDone(signals.quit), "the second one quits")
              assert.strictEqual(kill.mock.calls.length, 0)
            }).pipe(Effect.scoped, Effect.zipRight(Effect.sync(() => assert.deepStrictEqual(listenerCounts(), [0, 0, 0]))))
          ))
      }
    }

    effectIt.effect("a forked child ignores repeated SIGINT/SIGTERM (its supervisor sends SIGQUIT)", () =>
      isolated(() =>
        Effect.gen(function*() {
          const runMain = runMainLike()
          runMain.install()
          const signals = yield* Signals.install({ escalates: false })
          process.emit("SIGINT")
          process.emit("SIGTERM")
          process.emit("SIGINT")
          assert.isFalse(yield* Deferred.isDone(signals.quit))
          process.emit("SIGQUIT")
          assert.isTrue(yield* Deferred.isDone(signals.quit))
        }).pipe(Effect.scoped)
      ))

    effectIt.effect("SIGQUIT quits at once and sends SIGTERM for runMain; a later installation starts afresh", () =>
      isolated((kill) =>
        Effect.gen(function*() {
          const first = yield* Effect.scoped(Effect.gen(function*() {
            const signals = yield* Signals.install({ escalates: true })
            process.emit("SIGQUIT")
            return signals
          }))
          assert.isTrue(yield* Deferred.isDone(first.quit))
          assert.deepStrictEqual(kill.mock.calls, [[process.pid, "SIGTERM"]])
          const second = yield* Effect.scoped(Signals.install({ escalates: true }))
          assert.isFalse(yield* Deferred.isDone(second.quit))
        })
      ))

    effectIt.effect("with no other handler (no runMain), a stop signal keeps its default action", () =>
      isolated((kill) =>
        Effect.gen(function*() {
          const signals = yield* Signals.install({ escalates: true })
          process.emit("SIGTERM")
          // Our handlers are gone and the signal is raised again, for Node's default (termination).
          assert.deepStrictEqual(listenerCounts(), [0, 0, 0])
          assert.deepStrictEqual(kill.mock.calls, [[process.pid, "SIGTERM"]])
          assert.isFalse(yield* Deferred.isDone(signals.quit))
        }).pipe(Effect.scoped)
      ))
  })
