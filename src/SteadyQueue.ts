/**
 * Ready-made layers. `layer` builds steady-queue on a `SqlClient` you already have (your app's, so that enqueue
 * can join your transactions, or a separate one for a separate queue database, with `joinAppTransactions: false`).
 * The layers that also build the client are in the drivers' own entry points, `steady-queue/pg`,
 * `steady-queue/mysql` and `steady-queue/sqlite`, so that this module never loads a driver; `fromUrl` loads the one
 * its URL names when it is built. They never join the app's transactions, and keep their client to themselves
 * unless given `provideSqlClient: true`.
 */
import type { SqlClient, SqlError } from "@effect/sql"
import type { MigrationError } from "@effect/sql/Migrator"
import { type ConfigError, Effect, Layer } from "effect"
import type { Admin } from "./Admin.js"
import { InvalidConfigError, type MissingDriverError, type UnsupportedDatabaseError } from "./Errors.js"
import type { JobClient } from "./JobClient.js"
import { JobEvents } from "./JobEvents.js"
import * as Migrations from "./Migrations.js"
import type { MysqlOptions } from "./mysql.js"
import type { PgOptions } from "./pg.js"
import { RecurringRegistry } from "./Recurring.js"
import type { Runtime } from "./Runtime.js"
import type { SqliteOptions } from "./sqlite.js"
import { TaskRegistry } from "./TaskRegistry.js"
import * as AdminLive from "./internal/AdminLive.js"
import { loadDriver } from "./internal/drivers.js"
import * as JobClientLive from "./internal/JobClientLive.js"
import * as RuntimeContext from "./internal/RuntimeContext.js"
import { Store } from "./internal/Store.js"
import { Notices } from "./internal/Notices.js"
import { Wakeup } from "./internal/Wakeup.js"

export { Runtime, type RuntimeService } from "./Runtime.js"

/** Everything the producer side, the operator and the runtime need, given a `SqlClient`. */
export type Services = Admin | JobClient | JobEvents | TaskRegistry | RecurringRegistry | Runtime

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
  const internals = Layer.mergeAll(
    Store.layerWith({ joinAppTransactions: options.joinAppTransactions ?? true }),
    Wakeup.layer,
    Notices.layer
  )
  const registries = Layer.mergeAll(JobEvents.layer, TaskRegistry.layer, RecurringRegistry.layer)
  const services = Layer.merge(AdminLive.layer, RuntimeContext.layer).pipe(
    Layer.provideMerge(JobClientLive.layer),
    Layer.provideMerge(registries),
    Layer.provide(internals)
  )
  return options.migrate ? services.pipe(Layer.provide(Layer.effectDiscard(Migrations.runOnClient))) : services
}

/** The options of the layers that build their own client. */
export interface OwnClientOptions extends MigrateOptions {
  /**
   * Also provide the `SqlClient` the layer builds, to whatever the layer is provided to (default false). Leave it
   * off when the app has a `SqlClient` of its own: merged into the app, the layer then leaves the app's client in
   * place. `Migrations.run` and everything of steady-queue's use the queue's client either way.
   */
  readonly provideSqlClient?: boolean
}

/** Asks a layer that builds its own client to provide it too. */
export interface WithSqlClient {
  readonly provideSqlClient: true
}

export interface ServerOptions extends OwnClientOptions {
  readonly url: string
  /** Connection pool size (default 10). */
  readonly maxConnections?: number
}

type OwnClient<E, ROut = never> = Layer.Layer<Services | ROut, E | MissingDriverError>

type WithClient<E> = OwnClient<E, SqlClient.SqlClient>

// Through the entry points, loaded when the layer is built. Their overloads cannot see `provideSqlClient` through
// these options, but they honour it: the type is the overload's here.
function sqliteLayer(options: SqliteOptions & WithSqlClient): WithClient<LayerError | ConfigError.ConfigError>
function sqliteLayer(options: SqliteOptions): OwnClient<LayerError | ConfigError.ConfigError>
function sqliteLayer(options: SqliteOptions): WithClient<LayerError | ConfigError.ConfigError> {
  return Layer.unwrapEffect(Effect.map(loadDriver("sqlite"), (driver) => driver.layer(options) as WithClient<LayerError | ConfigError.ConfigError>))
}

function pgLayer(options: PgOptions & WithSqlClient): WithClient<LayerError>
function pgLayer(options: PgOptions): OwnClient<LayerError>
function pgLayer(options: PgOptions): WithClient<LayerError> {
  return Layer.unwrapEffect(Effect.map(loadDriver("pg"), (driver) => driver.layer(options) as WithClient<LayerError>))
}

function mysqlLayer(options: MysqlOptions & WithSqlClient): WithClient<LayerError | ConfigError.ConfigError>
function mysqlLayer(options: MysqlOptions): OwnClient<LayerError | ConfigError.ConfigError>
function mysqlLayer(options: MysqlOptions): WithClient<LayerError | ConfigError.ConfigError> {
  return Layer.unwrapEffect(Effect.map(loadDriver("mysql"), (driver) => driver.layer(options) as WithClient<LayerError | ConfigError.ConfigError>))
}

/** @deprecated Use `layer` from `steady-queue/sqlite` (this loads it when the layer is built). */
export const sqlite = sqliteLayer
/** @deprecated Use `layer` from `steady-queue/pg` (this loads it when the layer is built). */
export const pg = pgLayer
/** @deprecated Use `layer` from `steady-queue/mysql` (this loads it when the layer is built). */
export const mysql = mysqlLayer

export type FromUrlError = LayerError | ConfigError.ConfigError | InvalidConfigError | MissingDriverError

export interface FromUrlOptions extends OwnClientOptions {
  /** Connection pool size of a server database (default 10). */
  readonly maxConnections?: number
}

/**
 * From a URL: `postgres://...` (or `postgresql://`), `mysql://...` (or `mariadb://`), `sqlite:path/to/file.db`
 * (or `sqlite::memory:`). The driver's entry point is loaded when the layer is built: `MissingDriverError` names
 * the package to install when it is missing.
 */
export function fromUrl(url: string, options: FromUrlOptions & WithSqlClient): Layer.Layer<Services | SqlClient.SqlClient, FromUrlError>
export function fromUrl(url: string, options?: FromUrlOptions): Layer.Layer<Services, FromUrlError>
export function fromUrl(url: string, options: FromUrlOptions = {}): Layer.Layer<Services | SqlClient.SqlClient, FromUrlError> {
  // The overloads cannot see `provideSqlClient` through `options`; the layers honour it.
  const own = <E>(layer: OwnClient<E>) => layer as Layer.Layer<Services | SqlClient.SqlClient, E>
  if (/^postgres(ql)?:\/\//.test(url)) return own(pgLayer({ ...options, url }))
  if (/^(mysql|mariadb):\/\//.test(url)) return own(mysqlLayer({ ...options, url }))
  if (url.startsWith("sqlite:")) return own(sqliteLayer({ ...options, filename: url.slice("sqlite:".length).replace(/^\/\//, "") }))
  return Layer.fail(new InvalidConfigError({ message: `unsupported database URL (expected postgres://, mysql:// or sqlite:): ${redact(url)}` }))
}

const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@")
