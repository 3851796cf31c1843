/**
 * Rows as the drivers hand them back, normalised here and nowhere else: PostgreSQL returns BIGINT as a string,
 * MySQL as a number or a string, SQLite as a number; booleans come back as 0/1 from MySQL and SQLite. Decoding is
 * an effect: a row of an unexpected shape fails the statement (`ParseError`), it does not throw.
 */
import { Effect, Schema } from "effect"

export const DbInt = Schema.Union(Schema.Number, Schema.NumberFromString)
export const DbNullableInt = Schema.NullOr(DbInt)

export const JobRow = Schema.Struct({
  id: DbInt,
  public_id: Schema.String,
  queue_name: Schema.String,
  task_name: Schema.String,
  arguments: Schema.String,
  priority: DbInt,
  attempts: DbInt,
  scheduled_at: DbInt,
  created_at: DbInt,
  concurrency_key: Schema.NullOr(Schema.String),
  concurrency_limit: DbNullableInt,
  concurrency_duration: DbNullableInt
})
export type JobRow = typeof JobRow.Type
export const decodeJobRows = Schema.decodeUnknown(Schema.Array(JobRow))

export const IdRow = Schema.Struct({ id: DbInt })
export const decodeIdRows = Schema.decodeUnknown(Schema.Array(IdRow))
/** The `id` column of each row. */
export const decodeIds = (rows: unknown) => Effect.map(decodeIdRows(rows), (rs) => rs.map((r) => r.id))

export const JobIdRow = Schema.Struct({ job_id: DbInt })
export const decodeJobIdRows = Schema.decodeUnknown(Schema.Array(JobIdRow))
/** The `job_id` column of each row. */
export const decodeJobIds = (rows: unknown) => Effect.map(decodeJobIdRows(rows), (rs) => rs.map((r) => r.job_id))

export const InsertedJobRow = Schema.Struct({ id: DbInt, public_id: Schema.String })
export const decodeInsertedJobRows = Schema.decodeUnknown(Schema.Array(InsertedJobRow))

/** `affectedRows` (MySQL) or `changes` (SQLite) from a driver's raw result. */
export const affectedRows = (raw: unknown): number => {
  if (raw !== null && typeof raw === "object") {
    const r = raw as { readonly affectedRows?: unknown; readonly changes?: unknown; readonly rowCount?: unknown }
    const n = r.affectedRows ?? r.changes ?? r.rowCount
    if (typeof n === "number") return n
    if (typeof n === "bigint") return Number(n)
  }
  return 0
}
