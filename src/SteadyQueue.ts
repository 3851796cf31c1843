/**
 * Ready-made layers. `layer` builds steady-queue on a `SqlClient` you already have (your app's, so that enqueue
 * can join your transactions, or a separate one for a separate queue database, with `joinAppTransactions: false`).
 * The layers that also build the client are in the drivers' own entry points, `steady-queue/pg`,
 * `steady-queue/mysql` and `steady-queue/sqlite`, so that this module never loads a driver; `fromUrl` loads the one
 * its URL names when it is built. They never join the app's transactions.
 */
import type { SqlClient, SqlError } from "@effect/sql"
import type { MigrationError } from "@effect/sql/Migrator"
import { type ConfigError, Effect, Layer } from "effect"
import { Admin } from "./Admin.js"
import { InvalidConfigError, type MissingDriverError, type UnsupportedDatabaseError } from "./Errors.js"
import { JobClient } from "./JobClient.js"
import { JobEvents } from "./JobEvents.js"
import * as Migrations from "./Migrations.js"
import type { MysqlOptions } from "./mysql.js"
import type { PgOptions } from "./pg.js"
import { RecurringRegistry } from "./Recurring.js"
import type { SqliteOptions } from "./sqlite.js"
import { TaskRegistry } from "./TaskRegistry.js"
import { loadDriver } from "./internal/drivers.js"
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

export interface ServerOptions extends MigrateOptions {
  readonly url: string
  /** Connection pool size (default 10). */
  readonly maxConnections?: number
}

type OwnClient<E> = Layer.Layer<Services | SqlClient.SqlClient, E | MissingDriverError>

const sqliteLayer = (options: SqliteOptions): OwnClient<LayerError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(loadDriver("sqlite"), (driver) => driver.layer(options)))
const pgLayer = (options: PgOptions): OwnClient<LayerError> =>
  Layer.unwrapEffect(Effect.map(loadDriver("pg"), (driver) => driver.layer(options)))
const mysqlLayer = (options: MysqlOptions): OwnClient<LayerError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(loadDriver("mysql"), (driver) => driver.layer(options)))

/** @deprecated Use `layer` from `steady-queue/sqlite` (this loads it when the layer is built). */
export const sqlite = sqliteLayer
/** @deprecated Use `layer` from `steady-queue/pg` (this loads it when the layer is built). */
export const pg = pgLayer
/** @deprecated Use `layer` from `steady-queue/mysql` (this loads it when the layer is built). */
export const mysql = mysqlLayer

export type FromUrlError = LayerError | ConfigError.ConfigError | InvalidConfigError | MissingDriverError

/**
 * From a URL: `postgres://...` (or `postgresql://`), `mysql://...` (or `mariadb://`), `sqlite:path/to/file.db`
 * (or `sqlite::memory:`). The driver's entry point is loaded when the layer is built: `MissingDriverError` names
 * the package to install when it is missing.
 */
export const fromUrl = (
  url: string,
  options: MigrateOptions & { readonly maxConnections?: number } = {}
): Layer.Layer<Services | SqlClient.SqlClient, FromUrlError> => {
  if (/^postgres(ql)?:\/\//.test(url)) return pgLayer({ ...options, url })
  if (/^(mysql|mariadb):\/\//.test(url)) return mysqlLayer({ ...options, url })
  if (url.startsWith("sqlite:")) return sqliteLayer({ ...options, filename: url.slice("sqlite:".length).replace(/^\/\//, "") })
  return Layer.fail(new InvalidConfigError({ message: `unsupported database URL (expected postgres://, mysql:// or sqlite:): ${redact(url)}` }))
}

const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@")
