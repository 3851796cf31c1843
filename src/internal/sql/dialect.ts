import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { UnsupportedDatabaseError } from "../../Errors.js"

export type SqlDialect = "pg" | "mysql" | "sqlite"

/** What a statement needs to know about the database, found out once when the store is built. */
export interface DialectInfo {
  readonly dialect: SqlDialect
  /** `INSERT ... RETURNING` exists (PostgreSQL, SQLite, MariaDB; not MySQL). */
  readonly insertReturning: boolean
}

export const detect = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const dialect = sql.onDialectOrElse<SqlDialect | undefined, SqlDialect, SqlDialect, SqlDialect>({
    pg: () => "pg",
    mysql: () => "mysql",
    sqlite: () => "sqlite",
    orElse: () => undefined
  })
  if (dialect === undefined) {
    return yield* new UnsupportedDatabaseError({ message: "steady-queue supports PostgreSQL, MySQL/MariaDB and SQLite" })
  }
  if (dialect !== "mysql") return { dialect, insertReturning: true } satisfies DialectInfo
  const rows = yield* sql<{ readonly v: string }>`SELECT VERSION() AS v`.pipe(Effect.orDie)
  return { dialect, insertReturning: /mariadb/i.test(rows[0]?.v ?? "") } satisfies DialectInfo
})
