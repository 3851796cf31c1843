import { assert, layer } from "@effect/vitest"
import { SqlClient, Statement } from "@effect/sql"
import { Effect, Either, Fiber, Layer, Option, type Scope, TestServices } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { JobHandle } from "../../src/JobHandle.js"
import { SteadyQueue, Worker } from "../../src/index.js"
import { clientLayer, Db, type DialectName, reset, suiteLayer } from "../support/databases.js"
import { Double, Flaky, gateFile, handlersLayer, Hold, lines, pidsThat } from "../support/handle-tasks.js"
import { count, eventually, scaled } from "../support/harness.js"
import { type Child, startChild, stopChild } from "../support/processes.js"

/**
 * Real-time bounds (ms, before the time scale). A child's startup dominates (a node process loading the sources);
 * what the tests look at once it is up takes a second or two.
 */
const bounds = {
  startup: 60_000,
  /** A job's outcome reaches the awaiting side, a cancel reaches the worker, a retry runs. */
  settle: 10_000,
  exit: 30_000
}
const within = (...waits: ReadonlyArray<number>) => scaled(waits.reduce((a, b) => a + b, 0) + 20_000)

const tempFile = (name: string) => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "steady-queue-")), name)

/** A supervisor in async mode with short intervals, so that a dead one is pruned within seconds. */
const childConfig = {
  mode: "async",
  shutdownTimeout: "1 second",
  processHeartbeatInterval: "300 millis",
  processAliveThreshold: "2 seconds",
  workers: [{ threads: 2, pollingInterval: "20 millis" }],
  dispatchers: [{ pollingInterval: "50 millis" }],
  scheduler: null
}

/** Where the jobs run: which process wrote their lines, and what a failed wait reports. */
interface WorkerSide {
  readonly pid: number
  readonly detail: () => string
  readonly stop: Effect.Effect<void>
}

/** A supervisor in a child process (killed if the test ends with it still running). */
const inChild = (out: string) =>
  Effect.gen(function*() {
    const db = yield* Db
    const child = yield* startChild("test/support/handle-worker.ts", [db.url, out], childConfig)
    return sideOf(child, out)
  })

const sideOf = (child: Child, out: string): WorkerSide => ({
  pid: child.process.pid!,
  detail: () => `the child printed:\n${child.output()}\nit wrote:\n${lines(out).join("\n")}`,
  stop: Effect.gen(function*() {
    const exit = yield* stopChild(child, "SIGTERM", bounds.exit, "the worker process")
    assert.strictEqual(exit.code, 0, exit.output)
  })
})

/** steady-queue's services and the tasks' handlers (writing to `out`) on a pool of their own. */
export const secondPool = (out: string) =>
  Effect.flatMap(Db, (db) =>
    Layer.build(
      handlersLayer(out).pipe(
        Layer.provideMerge(SteadyQueue.layer({ joinAppTransactions: false }).pipe(Layer.provide(clientLayer(db)), Layer.orDie))
      )
    ))

/**
 * A worker in this process on a pool of its own, with services of its own (no in-process notices reach the
 * test's side), in real time.
 */
const inSecondPool = (out: string): Effect.Effect<WorkerSide, never, Db | Scope.Scope> =>
  Effect.gen(function*() {
    const context = yield* secondPool(out)
    yield* Worker.start({ threads: 2, pollingInterval: "20 millis", shutdownTimeout: "1 second" }).pipe(
      Effect.provide(context),
      TestServices.provideLive
    )
    return { pid: process.pid, detail: () => `the worker wrote:\n${lines(out).join("\n")}`, stop: Effect.void }
  })

/** Waits (real time) until a line `<what> <label>` was written. */
const wrote = (side: WorkerSide, out: string, what: string, label: string) =>
  eventually(Effect.sync(() => pidsThat(out, what, label).length > 0), {
    within: bounds.startup,
    what: `"${what} ${label}" written`,
    detail: side.detail
  })

/** `effect` in real time, failing after `ms` (scaled) with what it was. */
const bounded = <A, E, R>(effect: Effect.Effect<A, E, R>, ms: number, what: string, side: WorkerSide) =>
  effect.pipe(
    Effect.timeoutFail({ duration: scaled(ms), onTimeout: () => `${what}: not within ${scaled(ms)} ms` }),
    Effect.catchIf((e): e is string => typeof e === "string", (message) => Effect.dieMessage(`${message}\n${side.detail()}`)),
    TestServices.provideLive
  )

/**
 * Starts `handle.await()` on a fiber of its own, in test time unless `live`, counting the reads it makes (every
 * statement it runs is one).
 */
const awaitCounting = <A, E>(handle: JobHandle<A, E>, live: boolean) =>
  Effect.gen(function*() {
    let reads = 0
    const awaiting = Statement.withTransformer(handle.await(), (self) => Effect.sync(() => (reads++, self)))
    const fiber = yield* Effect.fork(live ? TestServices.provideLive(awaiting) : awaiting)
    return { fiber, reads: () => reads }
  })

/**
 * A result awaited in the test process while another process or pool runs the job. With `hintsOnly` (PostgreSQL)
 * the await runs on the TestClock, which the test never moves: its polling backstop never fires, so only a
 * NOTIFY from the writer's transaction can wake it.
 */
const awaitFromElsewhere = (start: (out: string) => Effect.Effect<WorkerSide, never, Db | Scope.Scope>, hintsOnly: boolean) =>
  Effect.gen(function*() {
    yield* reset
    const out = tempFile("await.txt")
    const handle = yield* Double.enqueue({ n: 21 })
    const side = yield* start(out)
    yield* wrote(side, out, "started", "double-21")
    assert.strictEqual(yield* handle.status, "running")
    const { fiber, reads } = yield* awaitCounting(handle, !hintsOnly)
    // It has read the job still running: whatever wakes it next, it is waiting when the result is written.
    yield* eventually(Effect.sync(() => reads() >= 1), { what: "the await read the job", within: bounds.settle })
    if (hintsOnly) {
      // Its LISTEN is up once a notice naming the job (sent here by hand) makes it read again.
      const sql = yield* SqlClient.SqlClient
      yield* eventually(Effect.gen(function*() {
        const before = reads()
        yield* Effect.orDie(sql`SELECT pg_notify('steady_queue_settled', ${String(handle.id)})`)
        yield* TestServices.provideLive(Effect.sleep("50 millis"))
        return reads() > before
      }), { what: "a notice woke the await", within: bounds.settle })
    }
    const t0 = Date.now()
    fs.writeFileSync(gateFile(out), "")
    const result = yield* bounded(Fiber.join(fiber), bounds.settle, "the awaited result", side)
    const waited = Date.now() - t0
    assert.deepStrictEqual(result, { doubled: 42, pid: side.pid })
    assert.deepStrictEqual(pidsThat(out, "done", "double-21"), [side.pid])
    assert.strictEqual(yield* handle.status, "succeeded")
    // A second await reads the stored result at once.
    assert.deepStrictEqual(yield* bounded(handle.await({ timeout: "5 seconds" }), bounds.settle, "a second await", side), result)
    yield* side.stop
    return waited
  }).pipe(Effect.scoped)

/**
 * Cancel of a running job held elsewhere: its worker interrupts it (the finalizer runs there), it ends cancelled,
 * and the slot of its key goes to the job blocked behind it.
 */
const cancelElsewhere = (start: (out: string) => Effect.Effect<WorkerSide, never, Db | Scope.Scope>) =>
  Effect.gen(function*() {
    yield* reset
    const out = tempFile("cancel.txt")
    const held = yield* Hold.enqueue({ label: "hold" })
    const next = yield* Hold.enqueue({ label: "next" })
    assert.strictEqual(yield* next.status, "blocked")
    const side = yield* start(out)
    yield* wrote(side, out, "started", "hold")
    assert.strictEqual(yield* held.status, "running")
    assert.strictEqual(yield* next.status, "blocked")
    const cancelled = yield* bounded(held.cancel({ wait: "5 seconds" }), bounds.settle, "the cancel", side)
    assert.isTrue(cancelled, side.detail())
    assert.deepStrictEqual(pidsThat(out, "finalized", "hold"), [side.pid], "the handler's finalizer ran in the worker")
    assert.deepStrictEqual(pidsThat(out, "done", "hold"), [])
    assert.strictEqual(yield* held.status, "cancelled")
    const info = Option.getOrThrow(yield* held.info)
    assert.strictEqual(info.state, "cancelled")
    const outcome = yield* bounded(Effect.either(held.await({ timeout: "5 seconds" })), bounds.settle, "await of the cancelled job", side)
    assert.isTrue(Either.isLeft(outcome) && outcome.left._tag === "JobCancelledError", String(outcome))
    // The slot was given back: the job blocked behind it runs, in the same worker.
    assert.strictEqual(yield* bounded(next.await({ timeout: "10 seconds" }), bounds.settle, "the blocked job's result", side), "next")
    assert.deepStrictEqual(pidsThat(out, "done", "next"), [side.pid])
    assert.strictEqual(yield* count("steady_queue_blocked_executions"), 0)
    assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
    yield* side.stop
  }).pipe(Effect.scoped, TestServices.provideLive)

/**
 * A worker process killed (SIGKILL) while it holds a job of a task that retries: a second process prunes the dead
 * one once its heartbeat is older than the threshold, the attempt fails with ProcessPrunedError, and the retry
 * runs in the new process.
 */
const killedWorkerRetried = Effect.gen(function*() {
  yield* reset
  const db = yield* Db
  const out = tempFile("killed.txt")
  const handle = yield* Flaky.enqueue({ label: "flaky" })
  const firstChild = yield* startChild("test/support/handle-worker.ts", [db.url, out], childConfig)
  const first = sideOf(firstChild, out)
  yield* wrote(first, out, "started", "flaky-1")
  assert.strictEqual(yield* handle.status, "running")
  const held = Option.getOrThrow(yield* handle.info).processId
  assert.isTrue(Option.isSome(held), "a running job names its worker")
  const killed = yield* stopChild(firstChild, "SIGKILL", bounds.exit, "the first worker process")
  assert.strictEqual(killed.signal, "SIGKILL")
  const second = yield* inChild(out)
  // Once the new process has pruned the dead one, the job waits out its retry delay (500 ms) as "retrying".
  let seen: string = "running"
  yield* eventually(Effect.map(handle.status, (s) => (seen = s) !== "running"), {
    within: bounds.startup,
    what: "the dead worker was pruned",
    detail: second.detail
  })
  assert.strictEqual(seen, "retrying", second.detail())
  const retrying = Option.getOrThrow(yield* handle.info)
  assert.strictEqual(retrying.state, "scheduled")
  assert.isTrue(Option.isSome(retrying.nextRetryAt), "a retrying job says when it runs again")
  const result = yield* bounded(handle.await({ timeout: "20 seconds" }), bounds.settle + bounds.startup, "the retried job's result", second)
  assert.strictEqual(result, 2)
  assert.deepStrictEqual(pidsThat(out, "started", "flaky-1"), [first.pid])
  assert.deepStrictEqual(pidsThat(out, "started", "flaky-2"), [second.pid])
  assert.deepStrictEqual(pidsThat(out, "done", "flaky-2"), [second.pid])
  assert.strictEqual(yield* handle.status, "succeeded")
  const info = Option.getOrThrow(yield* handle.info)
  assert.strictEqual(info.attempts, 1, "retried once")
  assert.strictEqual(info.attemptHistory.length, 1)
  const [lost] = info.attemptHistory
  assert.strictEqual(lost.attempt, 1)
  assert.strictEqual(lost.error.tag, "ProcessPrunedError", lost.error.message)
  assert.deepStrictEqual(lost.processId, held)
  assert.isTrue(Option.isSome(lost.startedAt))
  assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
  yield* second.stop
}).pipe(Effect.scoped, TestServices.provideLive)

/**
 * PostgreSQL: a job enqueued on one pool wakes an idle worker on another at once. The worker runs in test time,
 * never moved, with an hour between polls: once idle, only the NOTIFY sent by the enqueue can make it claim.
 */
const wokenByAnotherPool = Effect.gen(function*() {
  yield* reset
  const out = tempFile("wake.txt")
  fs.writeFileSync(gateFile(out), "") // the jobs run through
  const context = yield* secondPool(out)
  const side: WorkerSide = { pid: process.pid, detail: () => `the worker wrote:\n${lines(out).join("\n")}`, stop: Effect.void }
  const first = yield* Double.enqueue({ n: 1 })
  yield* Worker.start({ threads: 2, pollingInterval: "1 hour", shutdownTimeout: "1 second" }).pipe(Effect.provide(context))
  // Its first poll claimed the first job, fewer than it could take: it is idle now, its LISTEN connection up.
  yield* bounded(first.await(), bounds.settle, "the first job's result", side)
  yield* TestServices.provideLive(Effect.sleep("200 millis"))
  const second = yield* Double.enqueue({ n: 2 })
  assert.deepStrictEqual(yield* bounded(second.await(), bounds.settle, "the second job, woken by NOTIFY", side), {
    doubled: 4,
    pid: process.pid
  })
}).pipe(Effect.scoped)

export const handlesXprocSuite = (dialect: DialectName) =>
  layer(suiteLayer(dialect), { timeout: scaled(120_000) })("job handles across processes", (it) => {
    // The await side's reads and the cancel's wait run in test time only where it says so; the rest is real time.
    if (dialect === "pg") {
      it.scoped("a job enqueued on one pool wakes an idle worker on another at once (NOTIFY, no poll)", () =>
        wokenByAnotherPool, within(2 * bounds.settle))
      it.scoped("await in this process, the job run in a child process: a NOTIFY wakes the await, without polling", () =>
        Effect.asVoid(awaitFromElsewhere(inChild, true)), within(bounds.startup, 4 * bounds.settle, bounds.exit))
      it.scoped("await on one pool, the job run by a worker on another: a NOTIFY wakes the await, without polling", () =>
        Effect.asVoid(awaitFromElsewhere(inSecondPool, true)), within(4 * bounds.settle))
    } else {
      it.scoped(`await in this process, the job run ${dialect === "sqlite" ? "in a child process" : "by a worker on another pool"}: polling finds the result`, () =>
        Effect.gen(function*() {
          const waited = yield* awaitFromElsewhere(dialect === "sqlite" ? inChild : inSecondPool, false)
          // The backstop polls at most a second apart.
          assert.isAtMost(waited, scaled(3_000), `the await took ${waited} ms after the result was written`)
        }).pipe(TestServices.provideLive), within(bounds.startup, 4 * bounds.settle, bounds.exit))
    }

    it.scoped("cancel of a job running in a child process: interrupted there, ends cancelled, the next job of its key runs", () =>
      cancelElsewhere(inChild), within(bounds.startup, 4 * bounds.settle, bounds.exit))
    if (dialect !== "sqlite") {
      it.scoped("cancel of a job running on another pool: interrupted there, ends cancelled, the next job of its key runs", () =>
        cancelElsewhere(inSecondPool), within(4 * bounds.settle))
    }

    it.scoped("a worker process SIGKILLed while it holds a retrying task's job: pruned, retried in a new process (ProcessPrunedError kept)", () =>
      killedWorkerRetried, within(2 * bounds.startup, 2 * bounds.settle, bounds.exit))
  })
