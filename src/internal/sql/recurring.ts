/**
 * Recurring tasks: their rows (static ones from code, dynamic ones added at run time) and the once-per-tick
 * enqueue, whose unique `(task_key, run_at)` row is written in the same transaction as the job.
 */
import type { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import type { RecurringTask } from "../../Domain.js"
import type { Dialect } from "./dialect.js"
import { DbInt, DbNullableInt } from "./rows.js"


const Row = Schema.Struct({
  key: Schema.String,
  schedule: Schema.String,
  time_zone: Schema.NullOr(Schema.String),
  task_name: Schema.String,
  arguments: Schema.NullOr(Schema.String),
  queue_name: Schema.NullOr(Schema.String),
  priority: DbNullableInt,
  description: Schema.NullOr(Schema.String),
  static: Schema.Union(Schema.Boolean, DbInt),
  concurrency: Schema.NullOr(Schema.parseJson(Schema.Struct({ key: Schema.String, limit: Schema.Number, durationMs: Schema.Number })))
})
const decodeRows = Schema.decodeUnknown(Schema.Array(Row))

const toRow = (r: typeof Row.Type): RecurringTask => ({
  key: r.key,
  schedule: r.schedule,
  timeZone: r.time_zone,
  taskName: r.task_name,
  arguments: r.arguments ?? "{}",
  queueName: r.queue_name,
  priority: r.priority,
  description: r.description,
  static: r.static === true || r.static === 1,
  concurrency: r.concurrency
})

/** The columns an upsert of a task sets on a row that exists (all but the key and the creation time). */
const updated = [
  "schedule",
  "time_zone",
  "task_name",
  "arguments",
  "queue_name",
  "priority",
  "static",
  "description",
  "concurrency",
  "updated_at"
] as const

export const makeRecurring = (sql: SqlClient.SqlClient, dialect: Dialect) => {
  const key = sql("key")
  const { bool } = dialect
  const upsert = (row: RecurringTask, now: number) => {
    const values = {
      key: row.key,
      schedule: row.schedule,
      time_zone: row.timeZone,
      task_name: row.taskName,
      arguments: row.arguments,
      queue_name: row.queueName,
      priority: row.priority,
      static: bool(row.static),
      description: row.description,
      concurrency: row.concurrency === null ? null : JSON.stringify(row.concurrency),
      created_at: now,
      updated_at: now
    }
    return dialect.upsert("steady_queue_recurring_tasks", [values], "key", updated)
  }

  return {
    all: sql`SELECT ${key}, schedule, time_zone, task_name, arguments, queue_name, priority, description, ${sql("static")}, concurrency
             FROM steady_queue_recurring_tasks ORDER BY ${key}`.pipe(
      Effect.flatMap(decodeRows),
      Effect.map((rows) => rows.map(toRow))
    ),
    upsert,
    /** Upserts the static tasks and deletes static rows no longer in code, in one transaction. */
    syncStatic: (rows: ReadonlyArray<RecurringTask>, now: number) =>
      sql.withTransaction(Effect.gen(function*() {
        for (const row of rows) yield* upsert(row, now)
        const keys = rows.map((r) => r.key)
        yield* keys.length === 0
          ? sql`DELETE FROM steady_queue_recurring_tasks WHERE ${sql("static")} = ${bool(true)}`
          : sql`DELETE FROM steady_queue_recurring_tasks WHERE ${sql("static")} = ${bool(true)} AND ${key} NOT IN ${sql.in(keys)}`
      })),
    remove: (taskKey: string) => sql`DELETE FROM steady_queue_recurring_tasks WHERE ${key} = ${taskKey}`,
    /** Records a run; fails with a unique violation when another scheduler recorded it first. */
    recordRun: (taskKey: string, runAt: number, jobId: number, now: number) =>
      sql`INSERT INTO steady_queue_recurring_executions ${
        sql.insert({ job_id: jobId, task_key: taskKey, run_at: runAt, created_at: now })
      }`,
    runExists: (taskKey: string, runAt: number) =>
      sql`SELECT 1 AS x FROM steady_queue_recurring_executions WHERE task_key = ${taskKey} AND run_at = ${runAt}`.pipe(
        Effect.map((rows) => rows.length > 0)
      )
  }
}
