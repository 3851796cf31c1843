/**
 * Rows as the drivers hand them back, normalised here and nowhere else: PostgreSQL returns BIGINT as a string,
 * MySQL as a number or a string, SQLite as a number; booleans come back as 0/1 from MySQL and SQLite. Decoding is
 * an effect: a row of an unexpected shape fails the statement (`ParseError`), it does not throw.
 */
import { Effect, type ParseResult, Schema } from "effect"

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
const decodeJobRowsBySchema = Schema.decodeUnknown(Schema.Array(JobRow))

/** A driver's integer as a finite number, or undefined when it is anything else. */
const intOf = (value: unknown): number | undefined => {
  const n = typeof value === "number" ? value : typeof value === "string" && value !== "" ? Number(value) : NaN
  return Number.isFinite(n) ? n : undefined
}
const stringOf = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined)
const nullOr = <A>(value: unknown, f: (v: unknown) => A | undefined): A | null | undefined => (value === null ? null : f(value))

/** One claimed row the common way, or undefined for anything the schema must judge. */
const fastJobRow = (row: unknown): JobRow | undefined => {
  if (typeof row !== "object" || row === null) return undefined
  const r = row as Record<string, unknown>
  const out = {
    id: intOf(r.id),
    public_id: stringOf(r.public_id),
    queue_name: stringOf(r.queue_name),
    task_name: stringOf(r.task_name),
    arguments: stringOf(r.arguments),
    priority: intOf(r.priority),
    attempts: intOf(r.attempts),
    scheduled_at: intOf(r.scheduled_at),
    created_at: intOf(r.created_at),
    concurrency_key: nullOr(r.concurrency_key, stringOf),
    concurrency_limit: nullOr(r.concurrency_limit, intOf),
    concurrency_duration: nullOr(r.concurrency_duration, intOf)
  }
  for (const key in out) if (out[key as keyof typeof out] === undefined) return undefined
  return out as JobRow
}

/**
 * Claimed rows, decoded by hand on the hot path (a claim reads hundreds at once); a row of any other shape goes
 * through the schema, which fails as it always did.
 */
export const decodeJobRows = (rows: unknown): Effect.Effect<ReadonlyArray<JobRow>, ParseResult.ParseError> => {
  if (!Array.isArray(rows)) return decodeJobRowsBySchema(rows)
  const out: Array<JobRow> = []
  for (const row of rows) {
    const decoded = fastJobRow(row)
    if (decoded === undefined) return decodeJobRowsBySchema(rows)
    out.push(decoded)
  }
  return Effect.succeed(out)
}

export const IdRow = Schema.Struct({ id: DbInt })
export const decodeIdRows = Schema.decodeUnknown(Schema.Array(IdRow))
/** The `id` column of each row. */
export const decodeIds = (rows: unknown) => Effect.map(decodeIdRows(rows), (rs) => rs.map((r) => r.id))

export const JobIdRow = Schema.Struct({ job_id: DbInt })
export const decodeJobIdRows = Schema.decodeUnknown(Schema.Array(JobIdRow))
/** The `job_id` column of each row. */
export const decodeJobIds = (rows: unknown) => Effect.map(decodeJobIdRows(rows), (rs) => rs.map((r) => r.job_id))

export const InsertedJobRow = Schema.Struct({ id: DbInt, public_id: Schema.String })
const decodeInsertedJobRowsBySchema = Schema.decodeUnknown(Schema.Array(InsertedJobRow))

/** The rows of an enqueue, decoded by hand (a bulk enqueue reads a thousand at once), as `decodeJobRows`. */
export const decodeInsertedJobRows = (
  rows: unknown
): Effect.Effect<ReadonlyArray<typeof InsertedJobRow.Type>, ParseResult.ParseError> => {
  if (!Array.isArray(rows)) return decodeInsertedJobRowsBySchema(rows)
  const out: Array<typeof InsertedJobRow.Type> = []
  for (const row of rows) {
    const r = typeof row === "object" && row !== null ? (row as Record<string, unknown>) : {}
    const id = intOf(r.id)
    const publicId = stringOf(r.public_id)
    if (id === undefined || publicId === undefined) return decodeInsertedJobRowsBySchema(rows)
    out.push({ id, public_id: publicId })
  }
  return Effect.succeed(out)
}

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
