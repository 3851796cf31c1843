/**
 * `npm run bench:dashboard` (and the end of `npm run bench` when pg is among BENCH_DIALECTS): how fast the operator
 * dashboard answers with a large history in PostgreSQL. A throwaway database is seeded with set-based SQL (1,000,000
 * finished jobs and 100,000 failed ones over the last 7 days, a few thousand ready and scheduled jobs, a handful of
 * processes and recurring tasks), then every page is requested through the real HTTP handler, in-process: a few
 * warm-up requests, then timed ones. Pages named extra_* filter on a task and queue retired after the first day (all
 * their jobs are old): the worst case for a list that walks the newest jobs. Prints a table on stderr and one JSON
 * line on stdout; a page whose p95 reaches 200 ms is flagged (not a failure). Not part of the tests.
 *   BENCH_DIALECTS             `npm run bench` runs this only when pg is listed (it is by default)
 *   BENCH_PG_URL               an existing database to connect to for CREATE/DROP DATABASE
 *   BENCH_KEEP=1               keep the database (steady_queue_bench_dashboard); the next run reuses it when it holds
 *                              the same data, seeded less than 6 hours ago (so the chart's last hour is not empty);
 *                              otherwise (other sizes, say) it is dropped and seeded again
 *   BENCH_RESEED=1             seed again even if the kept database could be reused
 *   BENCH_DASHBOARD_FINISHED=1000000, BENCH_DASHBOARD_FAILED=100000, BENCH_DASHBOARD_REQUESTS=20
 */
import { HttpApp } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { Cause, Console, Data, Duration, Effect, Exit, Logger, Option } from "effect"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import pg from "pg"
import { Dashboard } from "../src/index.js"
import * as Pg from "../src/pg.js"

const serverUrl = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const databaseName = "steady_queue_bench_dashboard"
const keep = process.env.BENCH_KEEP === "1"
const reseed = process.env.BENCH_RESEED === "1"

const positive = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(value) || value < 1) {
    console.error(`bench: ${name} takes a positive integer`)
    process.exit(2)
  }
  return value
}
const finishedCount = positive("BENCH_DASHBOARD_FINISHED", 1_000_000)
const failedCount = positive("BENCH_DASHBOARD_FAILED", 100_000)
const timedRequests = positive("BENCH_DASHBOARD_REQUESTS", 20)
const warmupRequests = 3
const budgetMs = 200

const readyCount = 3000
const scheduledCount = 2000
const claimedCount = 24
const day = 86_400_000
const historyMs = 7 * day

/** Bump when the seeded data changes shape, so a kept database from an older version is seeded again. */
const seedVersion = 2

// --- Shape of the data ----------------------------------------------------------------------------------------

/** Shares per thousand, by a hash of the job id: uneven, with a rare queue (0.5%) and a rare task (0.1%). */
const queues = [["default", 600], ["mail", 300], ["reports", 95], ["audit", 5]] as const
const tasks = [
  ["SendEmail", 400],
  ["ResizeImage", 250],
  ["SyncAccount", 200],
  ["GenerateReport", 100],
  ["IndexDocument", 49],
  ["RebuildSearchIndex", 1]
] as const
const commonTask = "SendEmail"
const rareTask = "RebuildSearchIndex"
const rareQueue = "audit"
/**
 * Beyond the even shares: a task retired after the first day of the history, on its own queue (5% of that day's
 * jobs, about 0.7% of all). Its jobs are all old, which defeats a plan that walks the newest jobs hoping to meet
 * 25 matches soon; the extra pages filtered on it show what an operator looking up an old task would wait.
 */
const retiredTask = "LegacyImport"
const retiredQueue = "imports"
const errors = [["Boom", 500], ["TimeoutException", 300], ["HttpError", 200]] as const

/** `CASE` over per-thousand shares of `bucket` (0..999). */
const pick = (bucket: string, shares: ReadonlyArray<readonly [string, number]>) => {
  let upTo = 0
  const arms = shares.slice(0, -1).map(([name, share]) => {
    upTo += share
    return `WHEN ${bucket} < ${upTo} THEN '${name}'`
  })
  return `CASE ${arms.join(" ")} ELSE '${shares[shares.length - 1][0]}' END`
}
/** A stable pseudo-random 0..999 per id and seed. */
const bucket = (id: string, seed: number) => `(abs(hashint8extended(${id}, ${seed})) % 1000)`

// --- The throwaway database -----------------------------------------------------------------------------------

class Unreachable extends Data.TaggedError("Unreachable")<{ readonly reason: string }> {}

/** One statement on the server's existing database (CREATE / DROP / COMMENT ON DATABASE); unreachable is a skip. */
const admin = <A = Record<string, unknown>>(statement: string, values: ReadonlyArray<unknown> = []) =>
  Effect.acquireUseRelease(
    Effect.tryPromise({
      try: async () => {
        const c = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 })
        await c.connect()
        return c
      },
      catch: (e) => new Unreachable({ reason: String(e) })
    }),
    (c) => Effect.promise(() => c.query(statement, values as Array<unknown>).then((r) => r.rows as Array<A>)),
    (c) => Effect.ignore(Effect.tryPromise(() => c.end()))
  )

interface SeedMark {
  readonly version: number
  readonly finished: number
  readonly failed: number
  readonly seededAt: number
}

const wanted = (mark: SeedMark | undefined, now: number) =>
  mark !== undefined && mark.version === seedVersion && mark.finished === finishedCount && mark.failed === failedCount &&
  now - mark.seededAt < 6 * 3_600_000

/** The seed's description, kept as the database's comment (written only once seeding completed). */
const readMark = Effect.map(
  admin<{ mark: string | null }>(
    "SELECT shobj_description(oid, 'pg_database') AS mark FROM pg_database WHERE datname = $1",
    [databaseName]
  ),
  (rows): Option.Option<SeedMark | undefined> => {
    if (rows.length === 0) return Option.none() // no database
    try {
      return Option.some(JSON.parse(rows[0].mark ?? "") as SeedMark)
    } catch {
      return Option.some(undefined) // a database without a (complete) seed
    }
  }
)

const dropDatabase = admin(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`)

/**
 * Reuses the kept database if it holds this very seed, or creates it afresh; drops it when the scope closes unless
 * BENCH_KEEP=1. Returns its URL and whether it still needs seeding.
 */
const database = Effect.gen(function*() {
  const now = Date.now()
  const mark = yield* readMark
  const reuse = !reseed && Option.isSome(mark) && wanted(mark.value, now)
  if (!reuse) {
    if (Option.isSome(mark)) yield* dropDatabase
    yield* admin(`CREATE DATABASE ${databaseName}`)
  }
  yield* Effect.addFinalizer(() =>
    keep
      ? Console.error(`bench: kept database ${databaseName} (BENCH_KEEP=1)`)
      : dropDatabase.pipe(Effect.catchAllCause((c) => Console.error(`bench: could not drop ${databaseName}: ${Cause.pretty(c)}`)))
  )
  const url = Object.assign(new URL(serverUrl), { pathname: `/${databaseName}` }).toString()
  return { url, reused: reuse ? Option.getOrUndefined(mark) : undefined }
})

// --- Seeding --------------------------------------------------------------------------------------------------

/** A plausible stack trace, about 400 characters, in SQL over `tag`, `msg` and `id`. */
const stackSql = `tag || ': ' || msg || E'\\n    at handler (src/tasks/worker.ts:' || (id % 400 + 10) || E':17)'
  || E'\\n    at runJob (node_modules/steady-queue/src/Worker.ts:212:9)'
  || E'\\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)'
  || E'\\n    at async Promise.all (index 0)\\n    at async Object.perform (src/tasks/index.ts:88:3)'`

/**
 * Statements in order: the history (finished and failed jobs interleaved by id, `failedCount` of them spread
 * evenly), then the live part (ready, scheduled and claimed jobs, processes, recurring tasks and their runs).
 */
const seedStatements = (now: number) => {
  const total = finishedCount + failedCount
  const start = now - historyMs
  const isFailed = `((i * ${failedCount}::bigint) / ${total} > ((i - 1) * ${failedCount}::bigint) / ${total})`
  const retired = `(i <= ${Math.floor(total / 7)} AND ${bucket("i", 5)} < 50)`
  // Job i finished (or failed) at a time proportional to its id; it was enqueued 20 ms to 5 s before.
  const at = `(${start}::bigint + (i * ${historyMs}::bigint) / ${total})`
  const ran = `(20 + ${bucket("i", 3)} * 5)`
  const jobColumns = `id, public_id, queue_name, task_name, arguments, priority, attempts, scheduled_at, finished_at,
    concurrency_key, created_at, updated_at`
  const liveIds = (offset: number, count: number) => `generate_series(${total + offset + 1}, ${total + offset + count}) AS i`
  const readyFrom = 0
  const scheduledFrom = readyCount
  const claimedFrom = readyCount + scheduledCount
  const liveTotal = readyCount + scheduledCount + claimedCount
  const errorTag = pick(bucket("i", 4), errors)
  const recurring = [
    ["heartbeat-ping", "* * * * *", "SyncAccount", 60_000],
    ["mail-digest", "*/5 * * * *", "SendEmail", 300_000],
    ["hourly-rollup", "0 * * * *", "GenerateReport", 3_600_000],
    ["nightly-report", "0 3 * * *", "GenerateReport", day],
    ["reindex", "30 2 * * *", "RebuildSearchIndex", day],
    ["weekly-cleanup", "0 4 * * 0", "IndexDocument", 7 * day]
  ] as const
  const history: ReadonlyArray<readonly [string, string]> = [
    [
      "history jobs",
      `INSERT INTO steady_queue_jobs (${jobColumns})
       SELECT i, md5('steady-queue-' || i)::uuid::text,
              CASE WHEN ${retired} THEN '${retiredQueue}' ELSE ${pick(bucket("i", 1), queues)} END,
              CASE WHEN ${retired} THEN '${retiredTask}' ELSE ${pick(bucket("i", 2), tasks)} END,
              '{"account":"acct_' || (i % 5000) || '","n":' || i || '}', 0, 1, ${at} - ${ran},
              CASE WHEN ${isFailed} THEN NULL ELSE ${at} END, NULL, ${at} - ${ran}, ${at}
       FROM generate_series(1, ${total}) AS i`
    ],
    [
      "failed executions",
      `INSERT INTO steady_queue_failed_executions (job_id, error, created_at)
       SELECT id, '{"tag":' || to_json(tag) || ',"message":' || to_json(msg) || ',"stack":' || to_json(stack) || '}', at
       FROM (SELECT id, tag, msg, at, ${stackSql} AS stack
             FROM (SELECT i AS id, ${at} AS at, ${errorTag} AS tag,
                          'job ' || i || ' failed: upstream answered 503 after 3 attempts' AS msg
                   FROM generate_series(1, ${total}) AS i WHERE ${isFailed}) e) f`
    ]
  ]
  const live: ReadonlyArray<readonly [string, string]> = [
    [
      "ready, scheduled and claimed jobs",
      `INSERT INTO steady_queue_jobs (${jobColumns})
       SELECT i, md5('steady-queue-' || i)::uuid::text, ${pick(bucket("i", 1), queues)}, ${pick(bucket("i", 2), tasks)},
              '{"account":"acct_' || (i % 5000) || '","n":' || i || '}', CASE WHEN i % 10 = 0 THEN 5 ELSE 0 END, 0,
              CASE WHEN i > ${total + scheduledFrom} AND i <= ${total + claimedFrom}
                   THEN ${now}::bigint + (i - ${total + scheduledFrom}) * 43000 ELSE ${now}::bigint - 600000 + (i - ${total}) * 100 END,
              NULL, NULL, ${now}::bigint - 600000 + (i - ${total}) * 100, ${now}::bigint - 600000 + (i - ${total}) * 100
       FROM generate_series(${total + 1}, ${total + liveTotal}) AS i`
    ],
    [
      "ready executions",
      `INSERT INTO steady_queue_ready_executions (job_id, queue_name, priority, created_at)
       SELECT j.id, j.queue_name, j.priority, j.created_at FROM ${liveIds(readyFrom, readyCount)} JOIN steady_queue_jobs j ON j.id = i`
    ],
    [
      "scheduled executions",
      `INSERT INTO steady_queue_scheduled_executions (job_id, queue_name, priority, scheduled_at, created_at)
       SELECT j.id, j.queue_name, j.priority, j.scheduled_at, j.created_at
       FROM ${liveIds(scheduledFrom, scheduledCount)} JOIN steady_queue_jobs j ON j.id = i`
    ],
    ["job id sequence", `SELECT setval('steady_queue_jobs_id_seq', ${total + liveTotal})`],
    [
      "processes",
      `WITH supervisor AS (
         INSERT INTO steady_queue_processes (kind, name, pid, hostname, supervisor_id, metadata, last_heartbeat_at, created_at)
         VALUES ('Supervisor', 'supervisor-bench', 4100, 'app-1', NULL, '{"mode":"fork","workers":3,"dispatchers":1}',
                 ${now - 20_000}, ${now - 2 * day})
         RETURNING id)
       INSERT INTO steady_queue_processes (kind, name, pid, hostname, supervisor_id, metadata, last_heartbeat_at, created_at)
       SELECT kind, name, 4100 + n, 'app-1', supervisor.id, metadata, ${now} - n * 7000, ${now - 2 * day}
       FROM supervisor, (VALUES
         (1, 'Worker', 'worker-1', '{"queues":"*","threads":16,"pollingInterval":100}'),
         (2, 'Worker', 'worker-2', '{"queues":"*","threads":16,"pollingInterval":100}'),
         (3, 'Worker', 'worker-3', '{"queues":"mail,default","threads":8,"pollingInterval":100}'),
         (4, 'Dispatcher', 'dispatcher-1', '{"batchSize":500,"pollingInterval":1000}'),
         (5, 'Scheduler', 'scheduler-1', '{"recurringTasks":["heartbeat-ping","mail-digest"]}')
       ) AS p(n, kind, name, metadata)`
    ],
    [
      "claimed executions",
      `INSERT INTO steady_queue_claimed_executions (job_id, process_id, created_at)
       SELECT i, (SELECT id FROM steady_queue_processes WHERE name = 'worker-' || (i % 3 + 1)), ${now} - 5000
       FROM ${liveIds(claimedFrom, claimedCount)}`
    ],
    [
      "recurring tasks",
      `INSERT INTO steady_queue_recurring_tasks ("key", schedule, task_name, arguments, queue_name, priority, "static",
         description, created_at, updated_at, time_zone)
       VALUES ${
        recurring.map(([key, schedule, task], n) =>
          `('${key}', '${schedule}', '${task}', '{}', ${n === 5 ? "'reports'" : "NULL"}, NULL, ${n !== 4}, 'bench: ${key}',
            ${now - historyMs}, ${now - historyMs}, 'UTC')`
        ).join(",\n")
      }`
    ],
    [
      "recurring executions",
      // Each run is attributed to the history job of its time (the k-th task offset by k ids, so runs never share one).
      recurring.map(([key, , , every], k) =>
        `INSERT INTO steady_queue_recurring_executions (job_id, task_key, run_at, created_at)
         SELECT LEAST(${total - recurring.length}, GREATEST(1, ((t - ${start}) * ${total}::bigint) / ${historyMs})) + ${k},
                '${key}', t, t
         FROM generate_series(${Math.ceil(start / every) * every}::bigint, ${now}::bigint, ${every}::bigint) AS t
         ON CONFLICT DO NOTHING`
      ).join(";\n")
    ]
  ]
  return { history, live }
}

/** Tables loaded in bulk: the history. */
const bulkTables = ["steady_queue_jobs", "steady_queue_failed_executions"]

const seed = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const now = Date.now()
  const { history, live } = seedStatements(now)
  const steps: Array<string> = []
  const step = <A, E, R>(label: string, effect: Effect.Effect<A, E, R>) =>
    Effect.tap(Effect.timed(effect), ([took]) => Effect.sync(() => steps.push(`${label} ${Math.round(Duration.toMillis(took))} ms`)))
  const run = (statements: ReadonlyArray<readonly [string, string]>) =>
    Effect.forEach(statements, ([label, statement]) => step(label, Effect.forEach(statement.split(";\n"), (s) => sql.unsafe(s))), {
      discard: true
    })
  const [elapsed] = yield* Effect.timed(Effect.gen(function*() {
    // One transaction (one connection): a seed interrupted half-way leaves empty tables, not a partial history.
    yield* sql.withTransaction(Effect.gen(function*() {
      yield* sql`SET LOCAL maintenance_work_mem = '256MB'`
      yield* sql`SET LOCAL synchronous_commit = off`
      // A bulk load is several times faster into bare tables: drop the secondary indexes the migrations made, load
      // the history, then build them again from their very definitions.
      const indexes = yield* sql<{ name: string; definition: string }>`
        SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname IN ${sql.in(bulkTables)} AND t.relnamespace = current_schema()::regnamespace
          AND NOT x.indisprimary`
      yield* sql.unsafe(`DROP INDEX ${indexes.map((i) => `"${i.name}"`).join(", ")}`)
      yield* run(history)
      yield* step(
        `${indexes.length} indexes`,
        Effect.forEach(indexes, (i) => sql.unsafe(i.definition), { discard: true })
      )
      yield* run(live)
    }))
    yield* step("analyze", sql`ANALYZE`)
  }))
  const ms = Math.round(Duration.toMillis(elapsed))
  yield* Console.error(`bench: seeded in ${ms} ms (${steps.join(", ")})`)
  const mark: SeedMark = { version: seedVersion, finished: finishedCount, failed: failedCount, seededAt: now }
  yield* admin(`COMMENT ON DATABASE ${databaseName} IS '${JSON.stringify(mark)}'`)
  return ms
})

// --- Timing the pages -----------------------------------------------------------------------------------------

interface Timing {
  readonly path: string
  readonly p50: number
  readonly p95: number
  readonly max: number
  /** Job rows on a list page. */
  readonly rows: number | null
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
const round1 = (x: number) => Math.round(x * 10) / 10

type Handler = (request: Request) => Promise<Response>

class BadPage extends Data.TaggedError("BadPage")<{ readonly message: string }> {}

/** One GET through the handler, body read; fails unless the status is 200. */
const get = (handler: Handler, url: string) =>
  Effect.flatMap(
    Effect.promise(async () => {
      const started = performance.now()
      const response = await handler(new Request(`http://dashboard.bench${url}`))
      const body = await response.text()
      return { status: response.status, body, ms: performance.now() - started }
    }),
    (reply) =>
      reply.status === 200
        ? Effect.succeed(reply)
        : Effect.fail(new BadPage({ message: `GET ${url} answered ${reply.status}: ${reply.body.slice(0, 300)}` }))
  )

const rowCount = (body: string) => (body.match(/data-job-id="/g) ?? []).length
const nextLink = (body: string) =>
  Option.map(Option.fromNullable(/<a rel="next" href="([^"]+)"/.exec(body)), (m) => m[1].replace(/&amp;/g, "&"))

const time = (handler: Handler, url: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < warmupRequests; i++) yield* get(handler, url)
    const times: Array<number> = []
    let rows: number | null = null
    for (let i = 0; i < timedRequests; i++) {
      const reply = yield* get(handler, url)
      times.push(reply.ms)
      if (url.startsWith("/jobs?")) rows = rowCount(reply.body)
    }
    times.sort((a, b) => a - b)
    return { path: url, p50: round1(percentile(times, 50)), p95: round1(percentile(times, 95)), max: round1(times[times.length - 1]), rows } satisfies Timing
  })

/** Ids the pages need, read from the seeded data. */
const landmarks = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const one = (statement: string) =>
    Effect.map(sql.unsafe<{ id: string | number | null }>(statement), (rows) => {
      const id = rows[0]?.id
      if (id === null || id === undefined) throw new Error(`bench: no id from ${statement}`)
      return Number(id)
    })
  const total = finishedCount + failedCount
  return {
    finishedMid: yield* one(`SELECT min(id) AS id FROM steady_queue_jobs WHERE id >= ${Math.floor(total / 2)} AND finished_at IS NOT NULL`),
    failedOldest: yield* one(`SELECT min(job_id) AS id FROM steady_queue_failed_executions`),
    failedMid: yield* one(`SELECT min(job_id) AS id FROM steady_queue_failed_executions WHERE job_id >= ${Math.floor(total / 2)}`)
  }
})

const pages = (handler: Handler) =>
  Effect.gen(function*() {
    const ids = yield* landmarks
    // The failed list 50 pages deep, the way an operator gets there: following "Older" from the first page.
    let deep = "/jobs?state=failed"
    for (let i = 0; i < 50; i++) {
      const next = nextLink((yield* get(handler, deep)).body)
      if (Option.isNone(next)) break
      deep = next.value
    }
    const list: ReadonlyArray<readonly [string, string]> = [
      ["overview", "/"],
      ["failed", "/jobs?state=failed"],
      ["failed_page_51", deep],
      ["failed_oldest_page", `/jobs?state=failed&before=${ids.failedOldest + 1}`],
      ["finished", "/jobs?state=finished"],
      ["finished_middle", `/jobs?state=finished&before=${ids.finishedMid}`],
      ["finished_task_common", `/jobs?state=finished&task=${commonTask}`],
      ["finished_task_rare", `/jobs?state=finished&task=${rareTask}`],
      ["finished_queue_rare", `/jobs?state=finished&queue=${rareQueue}`],
      ["failed_queue_rare", `/jobs?state=failed&queue=${rareQueue}`],
      ["ready", "/jobs?state=ready"],
      ["scheduled", "/jobs?state=scheduled"],
      ["job_finished", `/jobs/${ids.finishedMid}`],
      ["job_failed", `/jobs/${ids.failedMid}`],
      ["processes", "/processes"],
      ["recurring", "/recurring"],
      // Extra, beyond the pages asked for: filters on the retired task and queue, whose jobs are all old.
      ["extra_finished_task_retired", `/jobs?state=finished&task=${retiredTask}`],
      ["extra_failed_task_retired", `/jobs?state=failed&task=${retiredTask}`],
      ["extra_finished_queue_retired", `/jobs?state=finished&queue=${retiredQueue}`],
      ["extra_failed_queue_retired", `/jobs?state=failed&queue=${retiredQueue}`]
    ]
    const results: Array<readonly [string, Timing]> = []
    for (const [name, url] of list) results.push([name, yield* time(handler, url)])
    return results
  })

const table = (results: ReadonlyArray<readonly [string, Timing]>) => {
  const header = ["page", "path", "rows", "p50 ms", "p95 ms", "max ms", "flag"]
  const lines = results.map(([name, t]) => [
    name,
    t.path,
    t.rows === null ? "" : String(t.rows),
    t.p50.toFixed(1),
    t.p95.toFixed(1),
    t.max.toFixed(1),
    t.p95 >= budgetMs ? `SLOW (p95 >= ${budgetMs} ms)` : ""
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)))
  const numeric = new Set([2, 3, 4, 5])
  const row = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd()
  return [row(header), widths.map((w) => "-".repeat(w)).join("  ").trimEnd(), ...lines.map(row)].join("\n")
}

const loud = (message: string) => Console.error(`\n${"!".repeat(80)}\n!!! bench: ${message}\n${"!".repeat(80)}\n`)

const measure = Effect.gen(function*() {
  const { url, reused } = yield* database
  return yield* Effect.gen(function*() {
    const seedMs = reused === undefined ? yield* seed : null
    if (reused !== undefined) {
      const age = Math.round((Date.now() - reused.seededAt) / 60_000)
      yield* Console.error(`bench: reusing ${databaseName}, seeded ${age} min ago (BENCH_RESEED=1 to seed again)`)
    }
    const router = yield* Dashboard.router({ auth: Dashboard.noAuth })
    const handler: Handler = HttpApp.toWebHandlerRuntime(yield* Effect.runtime<never>())(router)
    const results = yield* pages(handler)
    yield* Console.error(
      `\nbench: dashboard on PostgreSQL, ${finishedCount} finished and ${failedCount} failed jobs, ` +
        `${warmupRequests} warm-up + ${timedRequests} timed requests per page\n${table(results)}\n`
    )
    const slow = results.filter(([, t]) => t.p95 >= budgetMs).map(([name]) => name)
    if (slow.length > 0) yield* loud(`dashboard pages at or over ${budgetMs} ms (p95): ${slow.join(", ")}`)
    yield* Console.log(JSON.stringify({
      bench: "dashboard",
      dialect: "pg",
      finished: finishedCount,
      failed: failedCount,
      seed_ms: seedMs,
      pages: Object.fromEntries(results.map(([name, t]) => [name, { p50: t.p50, p95: t.p95, max: t.max }])),
      slow
    }))
  }).pipe(Effect.provide(Pg.layer({ url, migrate: true, maxConnections: 4, provideSqlClient: true })))
}).pipe(Effect.scoped) // the pool is closed (by `provide`) before the database is dropped (by the scope)

/** The dashboard bench; false if it failed (an unreachable server is a skip, not a failure). */
export const dashboardBench: Effect.Effect<boolean> = measure.pipe(
  Effect.as(true),
  Effect.catchAllCause((cause) => {
    const error = Cause.failureOption(cause)
    if (Option.isSome(error) && error.value instanceof Unreachable) {
      return Effect.as(loud(`SKIPPED dashboard: cannot reach ${serverUrl}: ${error.value.reason}`), true)
    }
    if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
    return Effect.as(loud(`FAILED dashboard:\n${Cause.pretty(cause)}`), false)
  })
) as Effect.Effect<boolean>

const isEntry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href

if (isEntry) {
  NodeRuntime.runMain(
    dashboardBench.pipe(
      Effect.tap((ok) => (ok ? Effect.void : Effect.sync(() => (process.exitCode = 1)))),
      Effect.provide(Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true })))
    ),
    { disablePrettyLogger: true, teardown: (exit) => process.exit(Exit.isSuccess(exit) ? undefined : 1) }
  )
}
