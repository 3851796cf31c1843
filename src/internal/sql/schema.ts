/**
 * The schema as it is once every migration has run: tables, columns, indexes and foreign keys, as data. The
 * migrations (Migrations.ts) are what builds and upgrades a database; this is what they add up to, and a test
 * compares each migrated database's catalog with it, so the two cannot silently disagree.
 */
import type { SqlDialect } from "./dialect.js"

/** The kinds of column the tables use. */
export type ColumnKind = "id" | "bigint" | "int" | "name" | "text" | "bool"

/**
 * Each kind's type as the database's catalog reports it: PostgreSQL's and MySQL's data type (with its length for
 * strings of bounded length), SQLite's type affinity.
 */
export const columnTypes: Record<SqlDialect, Record<ColumnKind, string>> = {
  pg: { id: "bigint", bigint: "bigint", int: "integer", name: "character varying(255)", text: "text", bool: "boolean" },
  mysql: { id: "bigint", bigint: "bigint", int: "int", name: "varchar(255)", text: "longtext", bool: "tinyint" },
  sqlite: { id: "integer", bigint: "integer", int: "integer", name: "text", text: "text", bool: "integer" }
}

export interface Column {
  readonly name: string
  readonly kind: ColumnKind
  readonly nullable: boolean
  /** The default, as a number (a boolean's is 1 or 0). */
  readonly default?: string
}

export interface Index {
  readonly name: string
  /** Column names, each followed by ` DESC` where the index is descending on it. */
  readonly columns: ReadonlyArray<string>
  readonly unique: boolean
}

export interface ForeignKey {
  readonly columns: ReadonlyArray<string>
  readonly references: { readonly table: TableName; readonly columns: ReadonlyArray<string> }
  readonly onDelete: "CASCADE"
}

export interface Table {
  /** The primary key is always the auto-increment `id`, the first column. */
  readonly columns: ReadonlyArray<Column>
  /** Besides the primary key. */
  readonly indexes: ReadonlyArray<Index>
  readonly foreignKeys: ReadonlyArray<ForeignKey>
}

export type TableName =
  | "steady_queue_jobs"
  | "steady_queue_ready_executions"
  | "steady_queue_scheduled_executions"
  | "steady_queue_claimed_executions"
  | "steady_queue_blocked_executions"
  | "steady_queue_failed_executions"
  | "steady_queue_pauses"
  | "steady_queue_semaphores"
  | "steady_queue_processes"
  | "steady_queue_recurring_tasks"
  | "steady_queue_recurring_executions"
  | "steady_queue_attempts"
  | "steady_queue_cancelled_executions"

const column = (name: string, kind: ColumnKind, options: { readonly nullable?: boolean; readonly default?: string } = {}): Column => ({
  name,
  kind,
  nullable: options.nullable ?? false,
  ...(options.default === undefined ? {} : { default: options.default })
})
const nullable = (name: string, kind: ColumnKind) => column(name, kind, { nullable: true })
const id = column("id", "id")
const createdAt = column("created_at", "bigint")
const updatedAt = column("updated_at", "bigint")
const jobId = column("job_id", "bigint")

const index = (name: string, ...columns: ReadonlyArray<string>): Index => ({ name, columns, unique: false })
const unique = (name: string, ...columns: ReadonlyArray<string>): Index => ({ name, columns, unique: true })

/** Execution rows belong to their job and go with it; each job has at most one of each kind. */
const execution = (table: string, columns: ReadonlyArray<Column>, indexes: ReadonlyArray<Index>): Table => ({
  columns: [id, jobId, ...columns],
  indexes: [unique(`ix_sq_${table}_job`, "job_id"), ...indexes],
  foreignKeys: [{ columns: ["job_id"], references: { table: "steady_queue_jobs", columns: ["id"] }, onDelete: "CASCADE" }]
})

export const tables: Record<TableName, Table> = {
  steady_queue_jobs: {
    columns: [
      id,
      column("public_id", "name"),
      column("queue_name", "name"),
      column("task_name", "name"),
      column("arguments", "text"),
      column("priority", "int", { default: "0" }),
      column("attempts", "int", { default: "0" }),
      column("scheduled_at", "bigint"),
      nullable("finished_at", "bigint"),
      nullable("concurrency_key", "name"),
      createdAt,
      updatedAt,
      nullable("concurrency_limit", "int"),
      nullable("concurrency_duration", "bigint"),
      nullable("result", "text"),
      nullable("started_at", "bigint"),
      nullable("timeout_ms", "bigint"),
      nullable("max_attempts", "int")
    ],
    indexes: [
      unique("ix_sq_jobs_public_id", "public_id"),
      // Of finished jobs only (`WHERE finished_at IS NOT NULL`) on PostgreSQL and SQLite.
      index("ix_sq_jobs_finished_at", "finished_at"),
      index("ix_sq_jobs_task_id", "task_name", "id"),
      index("ix_sq_jobs_queue_id", "queue_name", "id")
    ],
    foreignKeys: []
  },
  steady_queue_ready_executions: execution(
    "ready_executions",
    [column("queue_name", "name"), column("priority", "int"), createdAt],
    [
      index("ix_sq_ready_executions_poll_all", "priority DESC", "job_id"),
      index("ix_sq_ready_executions_poll_queue", "queue_name", "priority DESC", "job_id")
    ]
  ),
  steady_queue_scheduled_executions: execution(
    "scheduled_executions",
    [column("queue_name", "name"), column("priority", "int"), column("scheduled_at", "bigint"), createdAt],
    [index("ix_sq_scheduled_executions_dispatch", "scheduled_at", "priority DESC", "job_id")]
  ),
  steady_queue_claimed_executions: execution(
    "claimed_executions",
    [nullable("process_id", "bigint"), createdAt, nullable("cancel_requested_at", "bigint"), nullable("started_at", "bigint")],
    [index("ix_sq_claimed_executions_process", "process_id", "job_id")]
  ),
  steady_queue_blocked_executions: execution(
    "blocked_executions",
    [
      column("queue_name", "name"),
      column("priority", "int"),
      column("concurrency_key", "name"),
      column("expires_at", "bigint"),
      createdAt
    ],
    [
      index("ix_sq_blocked_executions_release", "concurrency_key", "priority DESC", "job_id"),
      index("ix_sq_blocked_executions_maintenance", "expires_at", "concurrency_key")
    ]
  ),
  steady_queue_failed_executions: execution(
    "failed_executions",
    [column("error", "text"), createdAt, nullable("process_id", "bigint")],
    [index("ix_sq_failed_executions_created", "created_at")]
  ),
  steady_queue_pauses: {
    columns: [id, column("queue_name", "name"), createdAt],
    indexes: [unique("ix_sq_pauses_queue", "queue_name")],
    foreignKeys: []
  },
  steady_queue_semaphores: {
    columns: [
      id,
      column("key", "name"),
      column("value", "int", { default: "1" }),
      column("expires_at", "bigint"),
      createdAt,
      updatedAt
    ],
    indexes: [
      unique("ix_sq_semaphores_key", "key"),
      index("ix_sq_semaphores_expires", "expires_at"),
      index("ix_sq_semaphores_key_value", "key", "value")
    ],
    foreignKeys: []
  },
  steady_queue_processes: {
    columns: [
      id,
      column("kind", "name"),
      column("name", "name"),
      column("pid", "int"),
      nullable("hostname", "name"),
      nullable("supervisor_id", "bigint"),
      nullable("metadata", "text"),
      column("last_heartbeat_at", "bigint"),
      createdAt
    ],
    indexes: [
      unique("ix_sq_processes_name_supervisor", "name", "supervisor_id"),
      index("ix_sq_processes_heartbeat", "last_heartbeat_at"),
      index("ix_sq_processes_supervisor", "supervisor_id")
    ],
    foreignKeys: []
  },
  steady_queue_recurring_tasks: {
    columns: [
      id,
      column("key", "name"),
      column("schedule", "name"),
      column("task_name", "name"),
      nullable("arguments", "text"),
      nullable("queue_name", "name"),
      nullable("priority", "int"),
      column("static", "bool", { default: "1" }),
      nullable("description", "text"),
      createdAt,
      updatedAt,
      nullable("time_zone", "name"),
      nullable("concurrency", "text")
    ],
    indexes: [unique("ix_sq_recurring_tasks_key", "key"), index("ix_sq_recurring_tasks_static", "static")],
    foreignKeys: []
  },
  steady_queue_recurring_executions: execution(
    "recurring_executions",
    [column("task_key", "name"), column("run_at", "bigint"), createdAt],
    [unique("ix_sq_recurring_executions_task_run", "task_key", "run_at")]
  ),
  steady_queue_attempts: {
    columns: [
      id,
      jobId,
      column("attempt", "int"),
      nullable("process_id", "bigint"),
      nullable("started_at", "bigint"),
      column("finished_at", "bigint"),
      column("error", "text"),
      createdAt
    ],
    indexes: [index("ix_sq_attempts_job", "job_id", "attempt")],
    foreignKeys: [{ columns: ["job_id"], references: { table: "steady_queue_jobs", columns: ["id"] }, onDelete: "CASCADE" }]
  },
  steady_queue_cancelled_executions: execution("cancelled_executions", [createdAt], [])
}

/**
 * The tables as a dialect has them: on PostgreSQL ready rows do not reference their job (the check cost a
 * quarter of an enqueue statement), so whatever deletes jobs deletes their ready rows itself.
 */
export const tablesOf = (dialect: SqlDialect): Record<TableName, Table> =>
  dialect === "pg"
    ? { ...tables, steady_queue_ready_executions: { ...tables.steady_queue_ready_executions, foreignKeys: [] } }
    : tables
