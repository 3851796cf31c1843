/**
 * Embedded SQLite: `steady-queue/sqlite`. Needs the optional peer `@effect/sql-sqlite-node`
 * (`npm install @effect/sql-sqlite-node`, which builds better-sqlite3); the main entry never loads it.
 */
import type { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { type ConfigError, Effect, Layer } from "effect"
import { onOwnClient } from "./internal/ownClient.js"
import {
  type LayerError,
  layer as servicesLayer,
  type OwnClientOptions,
  type Services,
  type WithSqlClient
} from "./SteadyQueue.js"

export interface SqliteOptions extends OwnClientOptions {
  /** Database file, or ":memory:". */
  readonly filename: string
  /**
   * SQLite's `synchronous` setting. "normal" (default) syncs the WAL at checkpoints: committed jobs survive a
   * crash of the process, and only an OS crash or power loss can lose the last moments. "full" syncs every
   * commit, several times slower.
   */
  readonly synchronous?: "normal" | "full"
}

type SqliteError = LayerError | ConfigError.ConfigError

/**
 * WAL journal, foreign keys on, and a busy timeout so several processes can share one file. Its one connection
 * is shared: a transaction the app opens on this same client is joined (waiting for another connection would
 * wait forever); a transaction on another client never is. The client is provided too only with
 * `provideSqlClient: true`.
 */
export function layer(options: SqliteOptions & WithSqlClient): Layer.Layer<Services | SqlClient.SqlClient, SqliteError>
export function layer(options: SqliteOptions): Layer.Layer<Services, SqliteError>
export function layer(options: SqliteOptions): Layer.Layer<Services | SqlClient.SqlClient, SqliteError> {
  const pragmas = Layer.effectDiscard(Effect.gen(function*() {
    const sql = yield* SqliteClient.SqliteClient
    yield* sql`PRAGMA foreign_keys = ON`
    yield* sql`PRAGMA synchronous = ${sql.literal(options.synchronous === "full" ? "FULL" : "NORMAL")}`
    yield* sql`PRAGMA busy_timeout = 10000`
  }))
  return onOwnClient(
    servicesLayer({ migrate: options.migrate ?? false, joinAppTransactions: false }).pipe(Layer.provide(pragmas)),
    SqliteClient.layer({ filename: options.filename }),
    options
  )
}

/** The queue's database as the program's database too: `layer` with `provideSqlClient: true`. */
export const sqlite = (options: SqliteOptions): Layer.Layer<Services | SqlClient.SqlClient, SqliteError> =>
  layer({ ...options, provideSqlClient: true })
