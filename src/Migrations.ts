/**
 * The database schema, as migrations recorded in `steady_queue_migrations`. Running them again does nothing;
 * every statement is also safe to repeat, so a migration interrupted half-way (MySQL commits each DDL statement
 * on its own) completes on the next run.
 */
import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import { Effect } from "effect"
import type { Runtime } from "./Runtime.js"
import { sqlClient } from "./internal/RuntimeContext.js"
import { detectName, type SqlDialect } from "./internal/sql/dialect.js"
import { createStatements } from "./internal/sql/firstMigration.js"

export const table = "steady_queue_migrations"

/** The DDL family of the client's database (MariaDB's is MySQL's). */
const family = Effect.map(Effect.orDie(detectName), (name): SqlDialect => (name === "mariadb" ? "mysql" : name))

/** Runs the statement of the database's family. */
const perFamily = (statements: Record<SqlDialect, string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(statements[yield* family])
  })

const createTables = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const dialect = yield* family
  for (const statement of createStatements(dialect)) yield* sql.unsafe(statement)
})

/** Recurring tasks keep the IANA time zone their schedule is read in. */
const addRecurringTimeZone = perFamily({
  pg: "ALTER TABLE steady_queue_recurring_tasks ADD COLUMN IF NOT EXISTS time_zone VARCHAR(255) NULL",
  mysql: "ALTER TABLE steady_queue_recurring_tasks ADD COLUMN time_zone VARCHAR(255) NULL",
  sqlite: "ALTER TABLE steady_queue_recurring_tasks ADD COLUMN time_zone TEXT NULL"
})

/** A limited job carries its limit and duration, so every path that waits on or signals its semaphore knows them. */
const addConcurrencySettings = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE steady_queue_jobs ADD COLUMN concurrency_limit INTEGER NULL`
  yield* sql`ALTER TABLE steady_queue_jobs ADD COLUMN concurrency_duration BIGINT NULL`
})

/** A recurring task of a limited task keeps its concurrency control (JSON), so its runs are limited too. */
const addRecurringConcurrency = perFamily({
  pg: "ALTER TABLE steady_queue_recurring_tasks ADD COLUMN concurrency TEXT NULL",
  mysql: "ALTER TABLE steady_queue_recurring_tasks ADD COLUMN concurrency LONGTEXT NULL",
  sqlite: "ALTER TABLE steady_queue_recurring_tasks ADD COLUMN concurrency TEXT NULL"
})

/**
 * For operators: a failure remembers the process it happened on; the chart counts failures per minute; and job
 * lists filtered by task or queue read in id order from `(task_name, id)` and `(queue_name, id)`, which replace
 * `(task_name)` and `(queue_name, finished_at)` (nothing else read those).
 */
const dashboard = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const dialect = yield* family
  const indexes = [
    ["ix_sq_failed_executions_created", "steady_queue_failed_executions", "created_at"],
    ["ix_sq_jobs_task_id", "steady_queue_jobs", "task_name, id"],
    ["ix_sq_jobs_queue_id", "steady_queue_jobs", "queue_name, id"]
  ] as const
  const dropped = ["ix_sq_jobs_task_name", "ix_sq_jobs_queue_finished"] as const
  if (dialect !== "mysql") {
    yield* dialect === "pg"
      ? sql`ALTER TABLE steady_queue_failed_executions ADD COLUMN IF NOT EXISTS process_id BIGINT NULL`
      : sql`ALTER TABLE steady_queue_failed_executions ADD COLUMN process_id BIGINT NULL`
    for (const [name, table, columns] of indexes) {
      yield* sql.unsafe(`CREATE INDEX IF NOT EXISTS ${name} ON ${table} (${columns})`)
    }
    for (const name of dropped) yield* sql.unsafe(`DROP INDEX IF EXISTS ${name}`)
    return
  }
  // MySQL has neither ADD COLUMN IF NOT EXISTS nor CREATE/DROP INDEX IF (NOT) EXISTS, and commits each DDL
  // statement: look first, so that an interrupted run completes when run again.
  const column = yield* sql`SELECT 1 AS x FROM information_schema.columns WHERE table_schema = DATABASE()
    AND table_name = 'steady_queue_failed_executions' AND column_name = 'process_id'`
  if (column.length === 0) yield* sql`ALTER TABLE steady_queue_failed_executions ADD COLUMN process_id BIGINT NULL`
  const exists = (table: string, name: string) =>
    Effect.map(
      sql`SELECT 1 AS x FROM information_schema.statistics WHERE table_schema = DATABASE()
          AND table_name = ${table} AND index_name = ${name}`,
      (rows) => rows.length > 0
    )
  for (const [name, table, columns] of indexes) {
    if (!(yield* exists(table, name))) yield* sql.unsafe(`CREATE INDEX ${name} ON ${table} (${columns})`)
  }
  for (const name of dropped) {
    if (yield* exists("steady_queue_jobs", name)) yield* sql.unsafe(`DROP INDEX ${name} ON steady_queue_jobs`)
  }
})

/**
 * Job handles: a succeeded job keeps its encoded result and when its last attempt started; a cancelled job has a
 * cancelled execution (so counting and listing cancelled jobs reads that table, never the finished history); a
 * job carries its task's timeout and attempt limit (for operators); a running job can be asked to
 * stop; and every failed attempt is kept with its error, process and times.
 */
const handles = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const dialect = yield* family
  const text = dialect === "mysql" ? "LONGTEXT" : "TEXT"
  const columns = [
    ["steady_queue_jobs", "result", `${text} NULL`],
    ["steady_queue_jobs", "started_at", "BIGINT NULL"],
    ["steady_queue_jobs", "timeout_ms", "BIGINT NULL"],
    ["steady_queue_jobs", "max_attempts", "INTEGER NULL"],
    ["steady_queue_claimed_executions", "cancel_requested_at", "BIGINT NULL"]
  ] as const
  for (const [table, name, type] of columns) {
    if (dialect === "pg") {
      yield* sql.unsafe(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${name} ${type}`)
      continue
    }
    // SQLite runs a migration in one transaction; MySQL commits each DDL statement, so look first.
    const exists = dialect === "mysql"
      ? (yield* sql`SELECT 1 AS x FROM information_schema.columns WHERE table_schema = DATABASE()
                    AND table_name = ${table} AND column_name = ${name}`).length > 0
      : false
    if (!exists) yield* sql.unsafe(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`)
  }
  const id = { pg: "BIGSERIAL PRIMARY KEY", mysql: "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY", sqlite: "INTEGER PRIMARY KEY AUTOINCREMENT" }[dialect]
  const body = `id ${id},
    job_id BIGINT NOT NULL,
    attempt INTEGER NOT NULL,
    process_id BIGINT NULL,
    started_at BIGINT NULL,
    finished_at BIGINT NOT NULL,
    error ${text} NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (job_id) REFERENCES steady_queue_jobs (id) ON DELETE CASCADE`
  const cancelled = `id ${id},
    job_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (job_id) REFERENCES steady_queue_jobs (id) ON DELETE CASCADE`
  if (dialect === "mysql") {
    const engine = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
    yield* sql.unsafe(`CREATE TABLE IF NOT EXISTS steady_queue_attempts (${body},
      KEY ix_sq_attempts_job (job_id, attempt)) ${engine}`)
    yield* sql.unsafe(`CREATE TABLE IF NOT EXISTS steady_queue_cancelled_executions (${cancelled},
      UNIQUE KEY ix_sq_cancelled_executions_job (job_id)) ${engine}`)
    return
  }
  yield* sql.unsafe(`CREATE TABLE IF NOT EXISTS steady_queue_attempts (${body})`)
  yield* sql.unsafe(`CREATE INDEX IF NOT EXISTS ix_sq_attempts_job ON steady_queue_attempts (job_id, attempt)`)
  yield* sql.unsafe(`CREATE TABLE IF NOT EXISTS steady_queue_cancelled_executions (${cancelled})`)
  yield* sql.unsafe(`CREATE UNIQUE INDEX IF NOT EXISTS ix_sq_cancelled_executions_job ON steady_queue_cancelled_executions (job_id)`)
})

/**
 * Enqueueing writes less (measured on PostgreSQL: a batch of 1000 jobs spent about a quarter of its statement
 * time checking the ready rows' foreign key, and some more in two indexes of the jobs table):
 * - `(scheduled_at, finished_at)` goes: no statement reads jobs by either (scheduled jobs are read from their
 *   execution table).
 * - `(finished_at)` keeps only finished jobs where the database can (PostgreSQL, SQLite): retention and the
 *   operators' counts and chart only ever read finished ones, so a new job costs no entry in it.
 * - On PostgreSQL, ready rows no longer reference their job: every statement that deletes jobs takes their ready
 *   rows first or deletes only jobs that have none (finished jobs, discards in another state).
 * PostgreSQL and SQLite run a migration in one transaction; MySQL commits each DDL statement, so it looks first.
 */
const leanJobs = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const dialect = yield* family
  if (dialect === "mysql") {
    const exists = yield* sql`SELECT 1 AS x FROM information_schema.statistics WHERE table_schema = DATABASE()
      AND table_name = 'steady_queue_jobs' AND index_name = 'ix_sq_jobs_scheduled_finished'`
    if (exists.length > 0) yield* sql`DROP INDEX ix_sq_jobs_scheduled_finished ON steady_queue_jobs`
    return
  }
  yield* sql`DROP INDEX IF EXISTS ix_sq_jobs_scheduled_finished`
  yield* sql`DROP INDEX IF EXISTS ix_sq_jobs_finished_at`
  yield* sql`CREATE INDEX ix_sq_jobs_finished_at ON steady_queue_jobs (finished_at) WHERE finished_at IS NOT NULL`
  if (dialect === "pg") {
    yield* sql`ALTER TABLE steady_queue_ready_executions DROP CONSTRAINT IF EXISTS steady_queue_ready_executions_job_id_fkey`
  }
})

/**
 * Claim ahead: a worker may hold claims it has not started yet (its prefetch buffer). A claim records when its
 * job started, so that the claims of a process that died go back to ready when they never ran, and fail when they
 * did. Claims made before this version all ran.
 */
const claimAhead = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const dialect = yield* family
  if (dialect === "pg") {
    yield* sql`ALTER TABLE steady_queue_claimed_executions ADD COLUMN IF NOT EXISTS started_at BIGINT NULL`
  } else {
    const exists = dialect === "mysql"
      ? (yield* sql`SELECT 1 AS x FROM information_schema.columns WHERE table_schema = DATABASE()
                    AND table_name = 'steady_queue_claimed_executions' AND column_name = 'started_at'`).length > 0
      : false
    if (!exists) yield* sql`ALTER TABLE steady_queue_claimed_executions ADD COLUMN started_at BIGINT NULL`
  }
  yield* sql`UPDATE steady_queue_claimed_executions SET started_at = created_at WHERE started_at IS NULL`
})

/**
 * PostgreSQL: the claim from one queue picks its rows through a function that plans them with bitmap scans off.
 * Its index, `(queue_name, priority DESC, job_id)`, is the one right plan for "the first n rows of a queue"; but
 * on a table without statistics (new, or never analyzed) the planner expects a dozen rows and reads and sorts the
 * whole queue through a bitmap scan instead, ten times slower at a backlog of 20,000 jobs. A statement cannot
 * turn a planner setting off for itself; a function can, for the statements it runs.
 */
const claimByQueue = Effect.gen(function*() {
  if ((yield* family) !== "pg") return
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE OR REPLACE FUNCTION steady_queue_ready_of_queue(queue VARCHAR, n INTEGER)
    RETURNS TABLE (id BIGINT, job_id BIGINT) LANGUAGE sql VOLATILE SET enable_bitmapscan = off AS $$
      SELECT r.id, r.job_id FROM steady_queue_ready_executions r
      WHERE r.queue_name = queue AND NOT EXISTS (SELECT 1 FROM steady_queue_pauses p WHERE p.queue_name = queue)
      ORDER BY r.priority DESC, r.job_id ASC LIMIT n FOR UPDATE SKIP LOCKED
    $$`
})

const migrations = {
  "0001_create_tables": createTables,
  "0002_recurring_time_zone": addRecurringTimeZone,
  "0003_concurrency_settings": addConcurrencySettings,
  "0004_recurring_concurrency": addRecurringConcurrency,
  "0005_dashboard": dashboard,
  "0006_handles": handles,
  "0007_lean_jobs": leanJobs,
  "0008_claim_ahead": claimAhead,
  "0009_claim_by_queue": claimByQueue
}

/** Applies pending migrations on the `SqlClient` in context; returns the ones applied now. */
export const runOnClient = Migrator.make({})({
  loader: Migrator.fromRecord(migrations),
  table
})

/**
 * Applies pending migrations on the queue's database (the client steady-queue's layer was built on, whether or
 * not that layer provides it); returns the ones applied now.
 */
export const run: Effect.Effect<
  Effect.Effect.Success<typeof runOnClient>,
  Effect.Effect.Error<typeof runOnClient>,
  Runtime
> = Effect.flatMap(sqlClient, (sql) => Effect.provideService(runOnClient, SqlClient.SqlClient, sql))
