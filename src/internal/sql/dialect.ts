/**
 * What differs between the databases, written once per database. A statement that is the same everywhere but
 * for a clause takes the clause from here; only statements that differ as a whole (the claim, and PostgreSQL's
 * one-statement enqueue and finish) are written per dialect, in a record keyed by its name, where they are used.
 * Every dialect spells out every fragment, so a new one does not compile until it says how it does each.
 */
import { SqlClient, type SqlConnection, type Statement } from "@effect/sql"
import { Effect } from "effect"
import { UnsupportedDatabaseError } from "../../Errors.js"
import { affectedRows, decodeIds, decodeJobIds } from "./rows.js"
import type { StatementError } from "../storage/persistence.js"
import type { TableName } from "./schema.js"

/** The database families, each with its own DDL (MariaDB's is MySQL's). */
export type SqlDialect = "pg" | "mysql" | "sqlite"

/** The databases steady-queue tells apart: MariaDB is MySQL with `INSERT/DELETE ... RETURNING`. */
export type DialectName = "pg" | "mysql" | "mariadb" | "sqlite"

type Fragment = Statement.Fragment
type Rows = ReadonlyArray<unknown>

/** Rows to take from an execution table: those matching `where`, first in `order`, at most `limit`. */
export interface Picking {
  readonly table: TableName
  /** Columns to return besides `id`. */
  readonly columns: string
  /** `WHERE ...`, or nothing. */
  readonly where: Fragment
  readonly order: Fragment
  readonly limit: number
}

export interface Dialect {
  readonly name: DialectName
  /** The family: its DDL, and the statements written whole per dialect. */
  readonly family: SqlDialect
  /** `LIMIT n`, for any `n` (negative is 0). */
  readonly limit: (n: number) => Fragment
  /** The tail of a SELECT that locks what it reads until the transaction ends. */
  readonly forUpdate: Fragment
  /** Same, for a join of which only the rows of `alias` are to be locked. */
  readonly forUpdateOf: (alias: string) => Fragment
  /**
   * The skip-locked select: deletes the rows picked, passing over rows other transactions hold, and returns
   * `id` and the picked columns of each. Inside the caller's transaction.
   */
  readonly takeSkipLocked: (picking: Picking) => Effect.Effect<Rows, StatementError>
  /** Deletes rows the transaction has locked already, by primary key. */
  readonly deleteByIds: (table: TableName, ids: ReadonlyArray<number>) => Effect.Effect<unknown, StatementError>
  /**
   * Take by job id: deletes the execution rows matching `where` and returns their job ids, so that of two
   * transactions deleting the same row only one sees it.
   */
  readonly takeJobs: (table: TableName, where: Fragment) => Effect.Effect<ReadonlyArray<number>, StatementError>
  /** Deletes the first `n` rows matching `where` in `order` (the result's `.raw` has the count). */
  readonly deleteFirst: (table: TableName, where: Fragment, order: string, n: number) => Statement.Statement<SqlConnection.Row>
  /** Inserts the row unless one with the same `unique` column exists; returns whether it inserted. */
  readonly insertIgnore: (
    table: TableName,
    row: Record<string, unknown>,
    unique: string
  ) => Effect.Effect<boolean, StatementError>
  /** Inserts the rows; where one with the same `unique` column exists, sets its `update` columns instead. */
  readonly upsert: (
    table: TableName,
    rows: ReadonlyArray<Record<string, unknown>>,
    unique: string,
    update: ReadonlyArray<string>
  ) => Statement.Statement<SqlConnection.Row>
  /** Inserts one row and returns its generated id. */
  readonly insertId: (table: TableName, row: Record<string, unknown>) => Effect.Effect<number, StatementError>
  /**
   * Inserts the rows and returns `columns` of each; without RETURNING they are read back by the unique `key`
   * column (auto-increment ids of one INSERT need not be consecutive).
   */
  readonly insertAndRead: (
    table: TableName,
    rows: ReadonlyArray<Record<string, unknown>>,
    columns: string,
    key: string
  ) => Effect.Effect<Rows, StatementError>
  /** The integer bucket of a millisecond `column` (`ms` wide), for counts per minute. */
  readonly timeBucket: (column: string, ms: number) => Fragment
  /** A boolean as the driver binds it. */
  readonly bool: (b: boolean) => boolean | number
  /** `column IN ids`; PostgreSQL binds one array, so the statement text is the same whatever the count. */
  readonly idIn: (column: string, ids: ReadonlyArray<number>) => Fragment
  /**
   * A locking read of a missing row takes a gap lock (InnoDB), and two of those deadlock: a row that may be
   * missing is inserted (ignoring a duplicate) before it is read.
   */
  readonly insertBeforeLockingRead: boolean
  /**
   * Takes the database's write lock now (SQLite, by a write that changes nothing to the rows matching `where`; a
   * no-op elsewhere), so a transaction that reads first never has to upgrade from a read lock, which fails when
   * another writer got there first.
   */
  readonly takeWriteLock: (
    table: "steady_queue_jobs" | "steady_queue_semaphores" | "steady_queue_recurring_tasks",
    where: Fragment
  ) => Effect.Effect<void, StatementError>
  /** The client has a single connection (SQLite). */
  readonly singleConnection: boolean
}

const literalLimit = (sql: SqlClient.SqlClient) => (n: number) =>
  sql.literal(`LIMIT ${Math.max(0, Math.trunc(n))}`)

/** By primary key, in one statement. */
const deleteIn = (sql: SqlClient.SqlClient) => (table: TableName, ids: ReadonlyArray<number>) =>
  sql`DELETE FROM ${sql.literal(table)} WHERE ${sql.in("id", ids)}`.unprepared

/**
 * MySQL/MariaDB plan a plain `DELETE ... WHERE id IN (...)` from the table's statistics: taken while the table
 * was nearly empty (a queue that was idle, then a burst), they make a full scan look cheaper, and a full scan
 * locks every row it passes, other transactions' locked rows included, which deadlocks concurrent claims.
 * Joining from the list of ids reads each row by its key whatever the statistics say.
 */
const deleteJoiningIds = (sql: SqlClient.SqlClient) => (table: TableName, ids: ReadonlyArray<number>) =>
  sql`DELETE t FROM JSON_TABLE(${JSON.stringify(ids)}, '$[*]' COLUMNS (id BIGINT PATH '$')) AS k
      STRAIGHT_JOIN ${sql.literal(table)} AS t ON t.id = k.id`.unprepared

/** Locks the rows it picks, skipping those others hold, then deletes them by primary key. */
const selectSkipLocked = (sql: SqlClient.SqlClient, deleteByIds: Dialect["deleteByIds"]) => (p: Picking) =>
  sql`SELECT id, ${sql.literal(p.columns)} FROM ${sql.literal(p.table)}
      ${p.where} ${p.order} ${literalLimit(sql)(p.limit)} FOR UPDATE SKIP LOCKED`.pipe(
    Effect.tap((rows) =>
      rows.length === 0 ? Effect.void : Effect.flatMap(decodeIds(rows), (ids) => deleteByIds(p.table, ids))
    )
  )

/** No row locks in SQLite: the DELETE comes first, so the transaction holds the write lock from its first statement. */
const deletePicked = (sql: SqlClient.SqlClient) => (p: Picking) =>
  sql`DELETE FROM ${sql.literal(p.table)} WHERE id IN (
        SELECT id FROM ${sql.literal(p.table)} ${p.where} ${p.order} ${literalLimit(sql)(p.limit)}
      ) RETURNING id, ${sql.literal(p.columns)}`

const deleteReturningJobIds = (sql: SqlClient.SqlClient) => (table: TableName, where: Fragment) =>
  sql`DELETE FROM ${sql.literal(table)} WHERE ${where} RETURNING job_id`.pipe(Effect.flatMap(decodeJobIds))

/** MySQL proper has no DELETE ... RETURNING: lock the rows, then delete them by primary key. */
const lockThenDeleteJobIds = (sql: SqlClient.SqlClient) => (table: TableName, where: Fragment) =>
  sql`SELECT id, job_id FROM ${sql.literal(table)} WHERE ${where} ORDER BY id FOR UPDATE`.pipe(
    Effect.tap((rows) =>
      rows.length === 0
        ? Effect.void
        : Effect.flatMap(decodeIds(rows), (ids) => sql`DELETE FROM ${sql.literal(table)} WHERE ${sql.in("id", ids)}`.unprepared)
    ),
    Effect.flatMap(decodeJobIds)
  )

/** MySQL rejects LIMIT inside an IN subquery, but has DELETE ... LIMIT. */
const deleteLimited = (sql: SqlClient.SqlClient) => (table: TableName, where: Fragment, order: string, n: number) =>
  sql`DELETE FROM ${sql.literal(table)} WHERE ${where} ORDER BY ${sql.literal(order)} ${literalLimit(sql)(n)}`

const deleteInLimited = (sql: SqlClient.SqlClient) => (table: TableName, where: Fragment, order: string, n: number) =>
  sql`DELETE FROM ${sql.literal(table)} WHERE id IN (
    SELECT id FROM ${sql.literal(table)} WHERE ${where} ORDER BY ${sql.literal(order)} ${literalLimit(sql)(n)})`

const onConflictDoNothing = (sql: SqlClient.SqlClient) =>
(table: TableName, row: Record<string, unknown>, unique: string) =>
  sql`INSERT INTO ${sql.literal(table)} ${sql.insert(row)} ON CONFLICT (${sql(unique)}) DO NOTHING RETURNING id`.pipe(
    Effect.map((rows) => rows.length > 0)
  )

const insertIgnoreInto = (sql: SqlClient.SqlClient) => (table: TableName, row: Record<string, unknown>) =>
  sql`INSERT IGNORE INTO ${sql.literal(table)} ${sql.insert(row)}`.raw.pipe(Effect.map((raw) => affectedRows(raw) > 0))

const onConflictUpdate = (sql: SqlClient.SqlClient) =>
(table: TableName, rows: ReadonlyArray<Record<string, unknown>>, unique: string, update: ReadonlyArray<string>) =>
  sql`INSERT INTO ${sql.literal(table)} ${sql.insert(rows)} ON CONFLICT (${sql(unique)}) DO UPDATE SET ${
    sql.csv(update.map((c) => sql`${sql(c)} = excluded.${sql(c)}`))
  }`

const onDuplicateKeyUpdate = (sql: SqlClient.SqlClient) =>
(table: TableName, rows: ReadonlyArray<Record<string, unknown>>, _unique: string, update: ReadonlyArray<string>) =>
  sql`INSERT INTO ${sql.literal(table)} ${sql.insert(rows)} ON DUPLICATE KEY UPDATE ${
    sql.csv(update.map((c) => sql`${sql(c)} = VALUES(${sql(c)})`))
  }`

const insertReturningId = (sql: SqlClient.SqlClient) => (table: TableName, row: Record<string, unknown>) =>
  sql`INSERT INTO ${sql.literal(table)} ${sql.insert(row)} RETURNING id`.pipe(
    Effect.flatMap(decodeIds),
    Effect.map((ids) => ids[0])
  )

const insertThenInsertId = (sql: SqlClient.SqlClient) => (table: TableName, row: Record<string, unknown>) =>
  sql`INSERT INTO ${sql.literal(table)} ${sql.insert(row)}`.raw.pipe(
    Effect.map((raw) => Number((raw as { readonly insertId: number | string }).insertId))
  )

const insertReturning = (sql: SqlClient.SqlClient) =>
(table: TableName, rows: ReadonlyArray<Record<string, unknown>>, columns: string) =>
  sql`INSERT INTO ${sql.literal(table)} ${sql.insert(rows)} RETURNING ${sql.literal(columns)}`

const insertThenRead = (sql: SqlClient.SqlClient) =>
(table: TableName, rows: ReadonlyArray<Record<string, unknown>>, columns: string, key: string) =>
  sql`INSERT INTO ${sql.literal(table)} ${sql.insert(rows)}`.unprepared.pipe(
    Effect.zipRight(
      sql`SELECT ${sql.literal(columns)} FROM ${sql.literal(table)} WHERE ${sql.in(key, rows.map((r) => r[key]))}`
        .unprepared
    )
  )

/** MySQL's `/` is exact division; `DIV` is the integer one the others' `/` is on integers. */
const divide = (sql: SqlClient.SqlClient, operator: "/" | "DIV") => (column: string, ms: number) =>
  sql.literal(`${column} ${operator} ${Math.trunc(ms)}`)

/** What PostgreSQL and SQLite say alike: standard SQL with `RETURNING` and `ON CONFLICT`. */
const standardSql = (sql: SqlClient.SqlClient) => ({
  limit: literalLimit(sql),
  deleteByIds: deleteIn(sql),
  takeJobs: deleteReturningJobIds(sql),
  deleteFirst: deleteInLimited(sql),
  insertIgnore: onConflictDoNothing(sql),
  upsert: onConflictUpdate(sql),
  insertId: insertReturningId(sql),
  insertAndRead: insertReturning(sql),
  timeBucket: divide(sql, "/"),
  insertBeforeLockingRead: false
}) as const

const mysqlFamily = (sql: SqlClient.SqlClient) => ({
  family: "mysql",
  limit: literalLimit(sql),
  forUpdate: sql.literal("FOR UPDATE"),
  // MySQL has no FOR UPDATE OF: it locks the rows read of every table of the join.
  forUpdateOf: () => sql.literal("FOR UPDATE"),
  takeSkipLocked: selectSkipLocked(sql, deleteJoiningIds(sql)),
  deleteByIds: deleteJoiningIds(sql),
  deleteFirst: deleteLimited(sql),
  insertIgnore: insertIgnoreInto(sql),
  upsert: onDuplicateKeyUpdate(sql),
  timeBucket: divide(sql, "DIV"),
  bool: (b: boolean) => (b ? 1 : 0),
  idIn: (column: string, ids: ReadonlyArray<number>) => sql.in(column, ids),
  insertBeforeLockingRead: true,
  takeWriteLock: () => Effect.void,
  singleConnection: false
}) as const

const dialects: Record<DialectName, (sql: SqlClient.SqlClient) => Dialect> = {
  pg: (sql) => ({
    ...standardSql(sql),
    name: "pg",
    family: "pg",
    forUpdate: sql.literal("FOR UPDATE"),
    forUpdateOf: (alias) => sql.literal(`FOR UPDATE OF ${alias}`),
    takeSkipLocked: selectSkipLocked(sql, deleteIn(sql)),
    bool: (b) => b,
    idIn: (column, ids) => sql`${sql.literal(column)} = ANY(${ids}::int8[])`,
    takeWriteLock: () => Effect.void,
    singleConnection: false
  }),
  mysql: (sql) => ({
    ...mysqlFamily(sql),
    name: "mysql",
    takeJobs: lockThenDeleteJobIds(sql),
    insertId: insertThenInsertId(sql),
    insertAndRead: insertThenRead(sql)
  }),
  mariadb: (sql) => ({
    ...mysqlFamily(sql),
    name: "mariadb",
    takeJobs: deleteReturningJobIds(sql),
    insertId: insertReturningId(sql),
    insertAndRead: insertReturning(sql)
  }),
  sqlite: (sql) => ({
    ...standardSql(sql),
    name: "sqlite",
    family: "sqlite",
    // No row locks: a writing transaction holds the database's write lock.
    forUpdate: sql.literal(""),
    forUpdateOf: () => sql.literal(""),
    takeSkipLocked: deletePicked(sql),
    // SQLite binds no booleans.
    bool: (b) => (b ? 1 : 0),
    idIn: (column, ids) => sql.in(column, ids),
    takeWriteLock: (table, where) => Effect.asVoid(sql`UPDATE ${sql.literal(table)} SET updated_at = updated_at WHERE ${where}`),
    singleConnection: true
  })
}

/** Which database the client speaks to; MySQL and MariaDB are told apart by the server's version string. */
export const detectName = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const family = sql.onDialectOrElse<SqlDialect | undefined, SqlDialect, SqlDialect, SqlDialect>({
    pg: () => "pg",
    mysql: () => "mysql",
    sqlite: () => "sqlite",
    orElse: () => undefined
  })
  if (family === undefined) {
    return yield* new UnsupportedDatabaseError({ message: "steady-queue supports PostgreSQL, MySQL/MariaDB and SQLite" })
  }
  if (family !== "mysql") return family satisfies DialectName
  const rows = yield* sql<{ readonly v: string }>`SELECT VERSION() AS v`.pipe(Effect.orDie)
  return (/mariadb/i.test(rows[0]?.v ?? "") ? "mariadb" : "mysql") satisfies DialectName
})

/** The client's dialect with its fragments, built once (when the store is). */
export const detect: Effect.Effect<Dialect, UnsupportedDatabaseError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  return dialects[yield* detectName](sql)
})
