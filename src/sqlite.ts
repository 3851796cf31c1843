/**
 * Embedded SQLite: `steady-queue/sqlite`. Needs the optional peer `@effect/sql-sqlite-node`
 * (`npm install @effect/sql-sqlite-node`, which builds better-sqlite3); the main entry never loads it.
 */
import type { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { type ConfigError, Effect, Layer } from "effect"
import { type LayerError, layer as servicesLayer, type MigrateOptions, type Services } from "./SteadyQueue.js"

export interface SqliteOptions extends MigrateOptions {
  /** Database file, or ":memory:". */
  readonly filename: string
  /**
   * SQLite's `synchronous` setting. "normal" (default) syncs the WAL at checkpoints: committed jobs survive a
   * crash of the process, and only an OS crash or power loss can lose the last moments. "full" syncs every
   * commit, several times slower.
   */
  readonly synchronous?: "normal" | "full"
}

/**
 * WAL journal, foreign keys on, and a busy timeout so several processes can share one file. Its one connection
 * is shared: a transaction the app opens on this same client is joined (waiting for another connection would
 * wait forever); a transaction on another client never is.
 */
export const layer = (options: SqliteOptions): Layer.Layer<Services | SqlClient.SqlClient, LayerError | ConfigError.ConfigError> => {
  const client = SqliteClient.layer({ filename: options.filename })
  const pragmas = Layer.effectDiscard(Effect.gen(function*() {
    const sql = yield* SqliteClient.SqliteClient
    yield* sql`PRAGMA foreign_keys = ON`
    yield* sql`PRAGMA synchronous = ${sql.literal(options.synchronous === "full" ? "FULL" : "NORMAL")}`
    yield* sql`PRAGMA busy_timeout = 10000`
  }))
  return servicesLayer({ migrate: options.migrate ?? false, joinAppTransactions: false }).pipe(Layer.provide(pragmas), Layer.provideMerge(client))
}
