/**
 * Ready-made layers. `layer` builds steady-queue on a `SqlClient` you already have (your app's, so that enqueue
 * can join your transactions, or a separate one for a separate queue database, with `joinAppTransactions: false`);
 * `sqlite`, `pg`, `mysql` and `fromUrl` also build the client, and never join the app's transactions.
 */
import type { SqlClient, SqlError } from "@effect/sql"
import type { MigrationError } from "@effect/sql/Migrator"
import { MysqlClient } from "@effect/sql-mysql2"
import { PgClient } from "@effect/sql-pg"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { type ConfigError, Effect, Layer, Redacted } from "effect"
import { Admin } from "./Admin.js"
import { InvalidConfigError, type UnsupportedDatabaseError } from "./Errors.js"
import { JobClient } from "./JobClient.js"
import { JobEvents } from "./JobEvents.js"
import * as Migrations from "./Migrations.js"
import { RecurringRegistry } from "./Recurring.js"
import { TaskRegistry } from "./TaskRegistry.js"
import { Store } from "./internal/Store.js"
import { Wakeup } from "./internal/Wakeup.js"

/** Everything the producer side and the runtime need, given a `SqlClient`. */
export type Services = Admin | JobClient | JobEvents | TaskRegistry | RecurringRegistry | Store | Wakeup

export interface MigrateOptions {
  /** Run the migrations when the layer is built (default false: run `Migrations.run` or the CLI yourself). */
  readonly migrate?: boolean
}

export interface LayerOptions extends MigrateOptions {
  /**
   * Whether steady-queue's statements join a transaction open in the caller (default true: the client is the
   * app's own, and an enqueue inside `sql.withTransaction` commits or rolls back with it). Pass false when the
   * client is a separate pool or database: `@effect/sql` shares the open transaction's connection with every
   * client, so without this the queue's statements would run on the app's connection.
   */
  readonly joinAppTransactions?: boolean
}

export type LayerError = UnsupportedDatabaseError | MigrationError | SqlError.SqlError

export const layer = (options: LayerOptions = {}): Layer.Layer<Services, LayerError, SqlClient.SqlClient> => {
  const store = Store.layerWith({ joinAppTransactions: options.joinAppTransactions ?? true })
  const base = Layer.mergeAll(store, JobEvents.layer, TaskRegistry.layer, RecurringRegistry.layer, Wakeup.layer)
  const services = Admin.layerWithoutDependencies.pipe(
    Layer.provideMerge(JobClient.layerWithoutDependencies),
    Layer.provideMerge(base)
  )
  return options.migrate ? services.pipe(Layer.provide(Layer.effectDiscard(Migrations.run))) : services
}

/** The ready-made layers' client is their own, not the app's: they never join the app's transactions. */
const own = (options: MigrateOptions) => layer({ migrate: options.migrate ?? false, joinAppTransactions: false })

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
 * Embedded SQLite: WAL journal, foreign keys on, and a busy timeout so several processes can share one file.
 * Its one connection is shared: a transaction the app opens on this same client is joined (waiting for another
 * connection would wait forever); a transaction on another client never is.
 */
export const sqlite = (options: SqliteOptions): Layer.Layer<Services | SqlClient.SqlClient, LayerError | ConfigError.ConfigError> => {
  const client = SqliteClient.layer({ filename: options.filename })
  const pragmas = Layer.effectDiscard(Effect.gen(function*() {
    const sql = yield* SqliteClient.SqliteClient
    yield* sql`PRAGMA foreign_keys = ON`
    yield* sql`PRAGMA synchronous = ${sql.literal(options.synchronous === "full" ? "FULL" : "NORMAL")}`
    yield* sql`PRAGMA busy_timeout = 10000`
  }))
  return own(options).pipe(Layer.provide(pragmas), Layer.provideMerge(client))
}

export interface ServerOptions extends MigrateOptions {
  readonly url: string
  /** Connection pool size (default 10). */
  readonly maxConnections?: number
}

export const pg = (options: ServerOptions): Layer.Layer<Services | SqlClient.SqlClient, LayerError> =>
  own(options).pipe(
    Layer.provideMerge(PgClient.layer({ url: Redacted.make(options.url), maxConnections: options.maxConnections ?? 10 }))
  )

export const mysql = (options: ServerOptions): Layer.Layer<Services | SqlClient.SqlClient, LayerError | ConfigError.ConfigError> =>
  own(options).pipe(
    Layer.provideMerge(MysqlClient.layer({ url: Redacted.make(options.url), maxConnections: options.maxConnections ?? 10 }))
  )

/**
 * From a URL: `postgres://...` (or `postgresql://`), `mysql://...` (or `mariadb://`), `sqlite:path/to/file.db`
 * (or `sqlite::memory:`).
 */
export const fromUrl = (
  url: string,
  options: MigrateOptions & { readonly maxConnections?: number } = {}
): Layer.Layer<Services | SqlClient.SqlClient, LayerError | ConfigError.ConfigError | InvalidConfigError> => {
  if (/^postgres(ql)?:\/\//.test(url)) return pg({ ...options, url })
  if (/^(mysql|mariadb):\/\//.test(url)) return mysql({ ...options, url: url.replace(/^mariadb:/, "mysql:") })
  if (url.startsWith("sqlite:")) return sqlite({ ...options, filename: url.slice("sqlite:".length).replace(/^\/\//, "") })
  return Layer.fail(new InvalidConfigError({ message: `unsupported database URL (expected postgres://, mysql:// or sqlite:): ${redact(url)}` }))
}

const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@")
