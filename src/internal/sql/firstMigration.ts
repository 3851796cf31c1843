/**
 * The tables as the first migration (`0001_create_tables`) creates them, described once and rendered per dialect.
 * Frozen: databases it created upgrade through the later migrations (Migrations.ts), so what it creates must never
 * change. The schema as it is now, after every migration, is `schema.ts`.
 */
import type { SqlDialect } from "./dialect.js"

type ColumnType = "id" | "bigint" | "int" | "name" | "text" | "bool"

interface Column {
  readonly name: string
  readonly type: ColumnType
  readonly nullable?: boolean
  readonly default?: string
}

interface Index {
  readonly name: string
  readonly columns: ReadonlyArray<string>
  readonly unique?: boolean
}

interface Table {
  readonly name: string
  readonly columns: ReadonlyArray<Column>
  readonly indexes: ReadonlyArray<Index>
  /** Execution rows belong to their job and go with it. */
  readonly referencesJob?: boolean
}

const col = (name: string, type: ColumnType, options: Omit<Column, "name" | "type"> = {}): Column => ({
  name,
  type,
  ...options
})
const created = col("created_at", "bigint")
const updated = col("updated_at", "bigint")

const prefix = "steady_queue_"

const tables: ReadonlyArray<Table> = [
  {
    name: "jobs",
    columns: [
      col("id", "id"),
      col("public_id", "name"),
      col("queue_name", "name"),
      col("task_name", "name"),
      col("arguments", "text"),
      col("priority", "int", { default: "0" }),
      col("attempts", "int", { default: "0" }),
      col("scheduled_at", "bigint"),
      col("finished_at", "bigint", { nullable: true }),
      col("concurrency_key", "name", { nullable: true }),
      created,
      updated
    ],
    indexes: [
      { name: "public_id", columns: ["public_id"], unique: true },
      { name: "finished_at", columns: ["finished_at"] },
      { name: "queue_finished", columns: ["queue_name", "finished_at"] },
      { name: "scheduled_finished", columns: ["scheduled_at", "finished_at"] },
      { name: "task_name", columns: ["task_name"] }
    ]
  },
  {
    name: "ready_executions",
    referencesJob: true,
    columns: [col("id", "id"), col("job_id", "bigint"), col("queue_name", "name"), col("priority", "int"), created],
    indexes: [
      { name: "job", columns: ["job_id"], unique: true },
      { name: "poll_all", columns: ["priority DESC", "job_id"] },
      { name: "poll_queue", columns: ["queue_name", "priority DESC", "job_id"] }
    ]
  },
  {
    name: "scheduled_executions",
    referencesJob: true,
    columns: [
      col("id", "id"),
      col("job_id", "bigint"),
      col("queue_name", "name"),
      col("priority", "int"),
      col("scheduled_at", "bigint"),
      created
    ],
    indexes: [
      { name: "job", columns: ["job_id"], unique: true },
      { name: "dispatch", columns: ["scheduled_at", "priority DESC", "job_id"] }
    ]
  },
  {
    name: "claimed_executions",
    referencesJob: true,
    columns: [col("id", "id"), col("job_id", "bigint"), col("process_id", "bigint", { nullable: true }), created],
    indexes: [
      { name: "job", columns: ["job_id"], unique: true },
      { name: "process", columns: ["process_id", "job_id"] }
    ]
  },
  {
    name: "blocked_executions",
    referencesJob: true,
    columns: [
      col("id", "id"),
      col("job_id", "bigint"),
      col("queue_name", "name"),
      col("priority", "int"),
      col("concurrency_key", "name"),
      col("expires_at", "bigint"),
      created
    ],
    indexes: [
      { name: "job", columns: ["job_id"], unique: true },
      { name: "release", columns: ["concurrency_key", "priority DESC", "job_id"] },
      { name: "maintenance", columns: ["expires_at", "concurrency_key"] }
    ]
  },
  {
    name: "failed_executions",
    referencesJob: true,
    columns: [col("id", "id"), col("job_id", "bigint"), col("error", "text"), created],
    indexes: [{ name: "job", columns: ["job_id"], unique: true }]
  },
  {
    name: "pauses",
    columns: [col("id", "id"), col("queue_name", "name"), created],
    indexes: [{ name: "queue", columns: ["queue_name"], unique: true }]
  },
  {
    name: "semaphores",
    columns: [col("id", "id"), col("key", "name"), col("value", "int", { default: "1" }), col("expires_at", "bigint"), created, updated],
    indexes: [
      { name: "key", columns: ["key"], unique: true },
      { name: "expires", columns: ["expires_at"] },
      { name: "key_value", columns: ["key", "value"] }
    ]
  },
  {
    name: "processes",
    columns: [
      col("id", "id"),
      col("kind", "name"),
      col("name", "name"),
      col("pid", "int"),
      col("hostname", "name", { nullable: true }),
      col("supervisor_id", "bigint", { nullable: true }),
      col("metadata", "text", { nullable: true }),
      col("last_heartbeat_at", "bigint"),
      created
    ],
    indexes: [
      { name: "name_supervisor", columns: ["name", "supervisor_id"], unique: true },
      { name: "heartbeat", columns: ["last_heartbeat_at"] },
      { name: "supervisor", columns: ["supervisor_id"] }
    ]
  },
  {
    name: "recurring_tasks",
    columns: [
      col("id", "id"),
      col("key", "name"),
      col("schedule", "name"),
      col("task_name", "name"),
      col("arguments", "text", { nullable: true }),
      col("queue_name", "name", { nullable: true }),
      col("priority", "int", { nullable: true }),
      col("static", "bool", { default: "1" }),
      col("description", "text", { nullable: true }),
      created,
      updated
    ],
    indexes: [
      { name: "key", columns: ["key"], unique: true },
      { name: "static", columns: ["static"] }
    ]
  },
  {
    name: "recurring_executions",
    referencesJob: true,
    columns: [col("id", "id"), col("job_id", "bigint"), col("task_key", "name"), col("run_at", "bigint"), created],
    indexes: [
      { name: "job", columns: ["job_id"], unique: true },
      { name: "task_run", columns: ["task_key", "run_at"], unique: true }
    ]
  }
]

const typeNames: Record<SqlDialect, Record<ColumnType, string>> = {
  pg: { id: "BIGSERIAL PRIMARY KEY", bigint: "BIGINT", int: "INTEGER", name: "VARCHAR(255)", text: "TEXT", bool: "BOOLEAN" },
  mysql: {
    id: "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
    bigint: "BIGINT",
    int: "INT",
    name: "VARCHAR(255)",
    text: "LONGTEXT",
    bool: "BOOLEAN"
  },
  // AUTOINCREMENT: a job id is never handed out twice, even after the newest job is deleted.
  sqlite: { id: "INTEGER PRIMARY KEY AUTOINCREMENT", bigint: "INTEGER", int: "INTEGER", name: "TEXT", text: "TEXT", bool: "INTEGER" }
}

const quote = (dialect: SqlDialect, name: string) => (dialect === "mysql" ? `\`${name}\`` : `"${name}"`)

const booleanDefault = (dialect: SqlDialect, value: string) =>
  dialect === "pg" ? (value === "1" ? "TRUE" : "FALSE") : value

const renderColumn = (dialect: SqlDialect, column: Column) => {
  const type = typeNames[dialect][column.type]
  if (column.type === "id") return `${quote(dialect, column.name)} ${type}`
  const nullability = column.nullable ? "NULL" : "NOT NULL"
  const defaultValue = column.default === undefined
    ? ""
    : ` DEFAULT ${column.type === "bool" ? booleanDefault(dialect, column.default) : column.default}`
  return `${quote(dialect, column.name)} ${type} ${nullability}${defaultValue}`
}

const renderIndexColumns = (dialect: SqlDialect, columns: ReadonlyArray<string>) =>
  columns.map((c) => {
    const [name, direction] = c.split(" ")
    return direction ? `${quote(dialect, name)} ${direction}` : quote(dialect, name)
  }).join(", ")

const indexName = (table: Table, index: Index) => `ix_sq_${table.name}_${index.name}`

/**
 * One DDL statement per table and per index, each safe to run again: MySQL commits every DDL statement on its
 * own, so a migration interrupted half-way must be able to simply run once more.
 */
export const createStatements = (dialect: SqlDialect): ReadonlyArray<string> =>
  tables.flatMap((table) => {
    const name = quote(dialect, prefix + table.name)
    const parts = table.columns.map((c) => renderColumn(dialect, c))
    if (table.referencesJob) {
      parts.push(`FOREIGN KEY (${quote(dialect, "job_id")}) REFERENCES ${quote(dialect, prefix + "jobs")} (${quote(dialect, "id")}) ON DELETE CASCADE`)
    }
    if (dialect === "mysql") {
      // MySQL has no CREATE INDEX IF NOT EXISTS: indexes live inside the (idempotent) CREATE TABLE.
      for (const index of table.indexes) {
        parts.push(`${index.unique ? "UNIQUE KEY" : "KEY"} ${quote(dialect, indexName(table, index))} (${renderIndexColumns(dialect, index.columns)})`)
      }
      return [`CREATE TABLE IF NOT EXISTS ${name} (\n  ${parts.join(",\n  ")}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`]
    }
    return [
      `CREATE TABLE IF NOT EXISTS ${name} (\n  ${parts.join(",\n  ")}\n)`,
      ...table.indexes.map((index) =>
        `CREATE ${index.unique ? "UNIQUE " : ""}INDEX IF NOT EXISTS ${quote(dialect, indexName(table, index))} ON ${name} (${renderIndexColumns(dialect, index.columns)})`
      )
    ]
  })
