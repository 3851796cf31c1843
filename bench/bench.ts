/**
 * `npm run bench`: one JSON line per dialect on stdout with enqueue rates, the drain rate of one worker with 32
 * threads, and enqueue-to-start latency. Each dialect runs in a throwaway database: a temp SQLite file, or a fresh
 * PostgreSQL / MySQL database created on the server and dropped at the end. When pg is among the dialects, the
 * dashboard bench (bench/dashboard.ts, also `npm run bench:dashboard`) adds its own JSON line. Last, always, the
 * command line's start-up (bench/cli.ts: `steady-queue --version`).
 * Not part of the tests.
 *   BENCH_DIALECTS=pg,mysql   which dialects, in order (default sqlite,pg,mysql)
 *   BENCH_N=20000             jobs for the bulk enqueue and drain phases (single enqueue uses min(N, 2000))
 *   BENCH_PREFETCH=auto       the worker's prefetch (jobs claimed ahead of its 32 threads; a number or auto)
 *   BENCH_PG_URL, BENCH_MYSQL_URL   an existing database to connect to for CREATE/DROP DATABASE
 */
import { NodeRuntime } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { Cause, Console, Data, Duration, Effect, Exit, Layer, Logger, Option, Queue, Schema, type Scope } from "effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import mysql from "mysql2/promise"
import pg from "pg"
import { JobClient, JobEvents, Migrations, SteadyQueue, Task, Worker } from "../src/index.js"
import type { JobRequest } from "../src/JobClient.js"
import { cliBench } from "./cli.js"
import { dashboardBench } from "./dashboard.js"

const allDialects = ["sqlite", "pg", "mysql"] as const
type Dialect = (typeof allDialects)[number]
type Server = Exclude<Dialect, "sqlite">

const dialects = (process.env.BENCH_DIALECTS ?? allDialects.join(",")).split(",").map((d) => d.trim()).filter((d) => d !== "")
const n = Number(process.env.BENCH_N ?? 20_000)
const prefetchSetting = process.env.BENCH_PREFETCH ?? "auto"
const prefetch = prefetchSetting === "auto" ? "auto" as const : Number(prefetchSetting)
const unknownDialects = dialects.filter((d) => !(allDialects as ReadonlyArray<string>).includes(d))
if (unknownDialects.length > 0 || !Number.isInteger(n) || n < 1) {
  console.error(`bench: BENCH_DIALECTS takes ${allDialects.join(",")} and BENCH_N a positive integer`)
  process.exit(2)
}
const serverUrls: Record<Server, string> = {
  pg: process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test",
  mysql: process.env.BENCH_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test"
}
const singleCount = Math.min(n, 2000)
const latencyCount = 500

const Noop = Task.make("Noop", { payload: Schema.Struct({ n: Schema.Number }) })
/** A no-op whose result is stored with the job: the drain's difference to Noop's is the cost of a result. */
const Echo = Task.make("Echo", { payload: Schema.Struct({ n: Schema.Number }), success: Schema.Struct({ n: Schema.Number }) })

// --- Throwaway databases --------------------------------------------------------------------------------------

class Unreachable extends Data.TaggedError("Unreachable")<{ readonly reason: string }> {}

/** A plain driver connection to the server's existing database: only for CREATE / DROP DATABASE. */
const openAdmin = async (server: Server) => {
  if (server === "pg") {
    const c = new pg.Client({ connectionString: serverUrls.pg, connectionTimeoutMillis: 5000 })
    await c.connect()
    return { query: (s: string) => c.query(s), end: () => c.end() }
  }
  const c = await mysql.createConnection({ uri: serverUrls.mysql, connectTimeout: 5000 })
  return { query: (s: string) => c.query(s), end: () => c.end() }
}

/** Runs one statement; a failure to connect is `Unreachable` (skip the dialect), anything else is a defect. */
const admin = (server: Server, statement: string) =>
  Effect.acquireUseRelease(
    Effect.tryPromise({ try: () => openAdmin(server), catch: (e) => new Unreachable({ reason: String(e) }) }),
    (c) => Effect.promise(() => c.query(statement).then(() => undefined)),
    (c) => Effect.ignore(Effect.tryPromise(() => c.end()))
  )

const withDatabase = (url: string, name: string) => Object.assign(new URL(url), { pathname: `/${name}` }).toString()

/** Creates the dialect's throwaway database for the life of the scope; returns the URL steady-queue should use. */
const database = (dialect: Dialect): Effect.Effect<string, Unreachable, Scope.Scope> => {
  if (dialect === "sqlite") {
    return Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "steady-queue-bench-"))),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    ).pipe(Effect.map((dir) => `sqlite:${path.join(dir, "bench.db")}`))
  }
  const name = `steady_queue_bench_${crypto.randomBytes(4).toString("hex")}`
  // FORCE: a connection the pool failed to close must not keep the database alive.
  const drop = dialect === "pg" ? `DROP DATABASE IF EXISTS ${name} WITH (FORCE)` : `DROP DATABASE IF EXISTS ${name}`
  return Effect.acquireRelease(
    admin(dialect, `CREATE DATABASE ${name}`),
    () => admin(dialect, drop).pipe(Effect.catchAllCause((c) => Console.error(`bench: could not drop ${name}: ${Cause.pretty(c)}`)))
  ).pipe(Effect.as(withDatabase(serverUrls[dialect], name)))
}

// --- Measurements ---------------------------------------------------------------------------------------------

const rate = (jobs: number, elapsed: Duration.Duration) => Math.round(jobs / Math.max(Duration.toSeconds(elapsed), 1e-9))
/** Real time in fractional milliseconds (the default Clock is backed by the high-resolution timer). */
const nowMs = Effect.map(Effect.clockWith((clock) => clock.currentTimeNanos), (ns) => Number(ns) / 1e6)
const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
const round2 = (x: number) => Math.round(x * 100) / 100

/**
 * Empties the tables (the executions go with their jobs; PostgreSQL's ready rows, which reference no job, are
 * named) and, on PostgreSQL, refreshes planner statistics.
 */
const clear = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql.onDialectOrElse({
    pg: () => sql`TRUNCATE steady_queue_jobs, steady_queue_ready_executions CASCADE`.pipe(Effect.zipRight(sql`ANALYZE`)),
    mysql: () => sql`DELETE FROM steady_queue_jobs`,
    orElse: () => sql`DELETE FROM steady_queue_jobs`
  }))
/**
 * Statistics for a loaded backlog, as autoanalyze would give a long-running database: without them (autovacuum is
 * off on the bench server) PostgreSQL plans the claim's DELETE and join as sequential scans.
 */
const analyze = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql.onDialectOrElse({
    mysql: () => sql`ANALYZE TABLE steady_queue_jobs, steady_queue_ready_executions`,
    orElse: () => sql`ANALYZE`
  }))
const requests = (count: number) => Array.from({ length: count }, (_, i) => Noop.job({ n: i }))
const echoRequests = (count: number) => Array.from({ length: count }, (_, i) => Echo.job({ n: i }))

const enqueueBulk = Effect.gen(function*() {
  yield* clear
  const jobs = requests(n)
  const [elapsed] = yield* Effect.timed(JobClient.enqueueAll(jobs))
  return rate(n, elapsed)
})

const enqueueSingle = Effect.gen(function*() {
  yield* clear
  const [elapsed] = yield* Effect.timed(Effect.gen(function*() {
    for (let i = 0; i < singleCount; i++) yield* Noop.enqueue({ n: i })
  }))
  return rate(singleCount, elapsed)
})

/** Subscribes to job events, then starts one 32-thread worker (default prefetch), both for the life of the scope. */
const startWorker = (pollingInterval: Duration.DurationInput) =>
  Effect.gen(function*() {
    const events = yield* Effect.flatMap(JobEvents.JobEvents, (e) => e.subscribe)
    yield* Worker.start({ threads: 32, prefetch, pollingInterval })
    return events
  })

const drainOf = (jobs: ReadonlyArray<JobRequest>) => Effect.gen(function*() {
  yield* clear
  yield* JobClient.enqueueAll(jobs)
  yield* analyze
  // Timed from before the worker starts (it registers, then polls) until the last Finished event.
  const [elapsed] = yield* Effect.timed(Effect.gen(function*() {
    const events = yield* startWorker("10 millis")
    let finished = 0
    while (finished < n) {
      for (const e of yield* Queue.takeBetween(events, 1, 4096)) {
        if (e._tag !== "Finished") continue
        if (e.outcome === "failed") return yield* Effect.dieMessage(`no-op job ${e.job.id} failed: ${e.error?.message}`)
        finished++
      }
    }
  }))
  return rate(n, elapsed)
}).pipe(Effect.scoped) // the worker's shutdown is not timed

const drain = Effect.suspend(() => drainOf(requests(n)))
const drainWithResults = Effect.suspend(() => drainOf(echoRequests(n)))

const latency = Effect.gen(function*() {
  yield* clear
  const events = yield* startWorker("100 millis")
  yield* Effect.sleep("500 millis") // the worker has polled once, found nothing, and is idle
  // Times are taken when each event arrives and matched by job id afterwards, so the order of events does not matter.
  const startedAt = new Map<number, number>()
  const collector = yield* Effect.fork(Effect.gen(function*() {
    while (startedAt.size < latencyCount) {
      const e = yield* Queue.take(events)
      if (e._tag === "Started") startedAt.set(e.job.id, yield* nowMs)
    }
  }))
  const enqueuedAt = new Map<number, number>()
  for (let i = 0; i < latencyCount; i++) {
    const before = yield* nowMs
    const job = yield* Noop.enqueue({ n: i })
    enqueuedAt.set(job.id, before)
    yield* Effect.sleep("2 millis")
  }
  yield* collector.await.pipe(
    Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(`only ${startedAt.size} jobs started`) })
  )
  const latencies = [...enqueuedAt].map(([id, t]) => startedAt.get(id)! - t).sort((a, b) => a - b)
  return { p50: round2(percentile(latencies, 50)), p99: round2(percentile(latencies, 99)) }
}).pipe(Effect.scoped)

// --- Per dialect ----------------------------------------------------------------------------------------------

const measure = Effect.gen(function*() {
  yield* Migrations.run
  const bulk = yield* enqueueBulk
  const single = yield* enqueueSingle
  const drained = yield* drain
  const drainedWithResults = yield* drainWithResults
  const lat = yield* latency
  return {
    enqueue_bulk_jobs_per_s: bulk,
    enqueue_single_jobs_per_s: single,
    drain_jobs_per_s: drained,
    drain_with_results_jobs_per_s: drainedWithResults,
    // What storing a result adds to each job's share of the drain.
    result_cost_us_per_job: round2((1e6 / drainedWithResults) - (1e6 / drained)),
    latency_p50_ms: lat.p50,
    latency_p99_ms: lat.p99
  }
})

const loud = (message: string) => Console.error(`\n${"!".repeat(80)}\n!!! bench: ${message}\n${"!".repeat(80)}\n`)

/** Prints the dialect's JSON line; returns false if it failed (an unreachable server is a skip, not a failure). */
const runDialect = (dialect: Dialect) =>
  Effect.gen(function*() {
    const url = yield* database(dialect)
    // The pool is closed (by `provide`) before the database is dropped (by the outer scope).
    const services = Layer.merge(Noop.toLayer(() => Effect.void), Echo.toLayer((p) => Effect.succeed(p))).pipe(Layer.provideMerge(SteadyQueue.fromUrl(url, { maxConnections: 10, provideSqlClient: true })))
    const result = yield* Effect.provide(measure, services)
    yield* Console.log(JSON.stringify({ dialect, ...result }))
    return true
  }).pipe(
    Effect.scoped,
    Effect.catchAllCause((cause) => {
      const error = Cause.failureOption(cause)
      if (Option.isSome(error) && error.value instanceof Unreachable) {
        return Effect.as(loud(`SKIPPED ${dialect}: cannot reach ${serverUrls[dialect as Server]}: ${error.value.reason}`), true)
      }
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
      return Effect.as(loud(`FAILED ${dialect}:\n${Cause.pretty(cause)}`), false)
    })
  )

const main = Effect.forEach(dialects as ReadonlyArray<Dialect>, runDialect).pipe(
  Effect.flatMap((oks) => (dialects.includes("pg") ? Effect.map(dashboardBench, (ok) => [...oks, ok]) : Effect.succeed(oks))),
  Effect.flatMap((oks) => Effect.map(cliBench, (ok) => [...oks, ok])),
  Effect.tap((oks) => (oks.every((ok) => ok) ? Effect.void : Effect.sync(() => (process.exitCode = 1)))),
  // Stdout is for the JSON lines only; steady-queue's own log lines go to stderr.
  Effect.provide(Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true })))
)

// runMain interrupts on SIGINT, so the throwaway databases are dropped even then. Exit explicitly at the end:
// a driver's idle timer must not keep the process alive.
NodeRuntime.runMain(main, {
  disablePrettyLogger: true,
  teardown: (exit) => process.exit(Exit.isSuccess(exit) ? undefined : 1)
})
