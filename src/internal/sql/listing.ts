/**
 * Jobs by state for operators: newest first, keyset-paginated by job id, filtered by queue and task name. Every
 * list reads one execution table (or the finished jobs) through its job id index, so a page costs the same with
 * a million rows as with ten.
 */
import type { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import type { Dialect } from "./dialect.js"
import { DbInt, DbNullableInt } from "./rows.js"
import type { JobState } from "../../Domain.js"
import type { ListFilter } from "../storage/Listing.js"

const ListedRow = Schema.Struct({
  id: DbInt,
  public_id: Schema.String,
  queue_name: Schema.String,
  task_name: Schema.String,
  priority: DbInt,
  attempts: DbInt,
  scheduled_at: DbInt,
  finished_at: DbNullableInt,
  created_at: DbInt,
  /** When the job entered this state (the execution row's creation; the finish time for finished jobs). */
  since: DbNullableInt,
  error: Schema.NullOr(Schema.String),
  process_id: DbNullableInt,
  concurrency_key: Schema.NullOr(Schema.String)
})
const decode = Schema.decodeUnknown(Schema.Array(ListedRow))

const executionTable: Record<Exclude<JobState, "finished">, string> = {
  ready: "steady_queue_ready_executions",
  scheduled: "steady_queue_scheduled_executions",
  claimed: "steady_queue_claimed_executions",
  blocked: "steady_queue_blocked_executions",
  failed: "steady_queue_failed_executions",
  cancelled: "steady_queue_cancelled_executions"
}

export const makeListing = (sql: SqlClient.SqlClient, dialect: Dialect) => {
  const columns = sql.literal(`j.id, j.public_id, j.queue_name, j.task_name, j.priority, j.attempts, j.scheduled_at,
    j.finished_at, j.created_at, j.concurrency_key`)

  const filters = (f: ListFilter, idColumn: string) => [
    ...(f.before === undefined ? [] : [sql`${sql.literal(idColumn)} < ${f.before}`]),
    ...(f.queue === undefined ? [] : [sql`j.queue_name = ${f.queue}`]),
    ...(f.task === undefined ? [] : [sql`j.task_name = ${f.task}`])
  ]

  const limit = (n: number) => dialect.limit(Math.max(1, Math.min(1000, Math.trunc(n))))

  const list = (f: ListFilter) => {
    if (f.state === "finished") {
      // A cancelled job has finished_at too (it is kept like a finished one); its own list is its table's.
      const ended = sql`j.finished_at IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM steady_queue_cancelled_executions x WHERE x.job_id = j.id)`
      const where = sql.and([ended, ...filters(f, "j.id")])
      return sql`SELECT ${columns}, j.finished_at AS since, NULL AS error, NULL AS process_id
                 FROM steady_queue_jobs j WHERE ${where} ORDER BY j.id DESC ${limit(f.limit)}`.pipe(
        Effect.flatMap(decode)
      )
    }
    const table = sql.literal(executionTable[f.state])
    const error = f.state === "failed" ? sql.literal("e.error") : sql.literal("NULL")
    const processId = f.state === "claimed" ? sql.literal("e.process_id") : sql.literal("NULL")
    const where = filters(f, "e.job_id")
    return sql`SELECT ${columns}, e.created_at AS since, ${error} AS error, ${processId} AS process_id
               FROM ${table} e JOIN steady_queue_jobs j ON j.id = e.job_id
               ${where.length === 0 ? sql.literal("") : sql`WHERE ${sql.and(where)}`}
               ORDER BY e.job_id DESC ${limit(f.limit)}`.pipe(Effect.flatMap(decode))
  }

  /** Job ids matching a filter (state failed or scheduled, say), a batch at a time, for bulk actions. */
  const ids = (f: ListFilter) => Effect.map(list(f), (rows) => rows.map((r) => r.id))

  return { list, ids } as const
}
