/**
 * MySQL 8 or MariaDB 10.6+: `steady-queue/mysql`. Needs the optional peer `@effect/sql-mysql2`
 * (`npm install @effect/sql-mysql2`); the main entry never loads it.
 */
import type { SqlClient } from "@effect/sql"
import { MysqlClient } from "@effect/sql-mysql2"
import { type ConfigError, type Layer, Redacted } from "effect"
import { onOwnClient } from "./internal/ownClient.js"
import { type LayerError, layer as servicesLayer, type ServerOptions, type Services, type WithSqlClient } from "./SteadyQueue.js"

export type MysqlOptions = ServerOptions

type MysqlError = LayerError | ConfigError.ConfigError

/**
 * steady-queue's services on a pool of their own: they never join the app's transactions. The pool's
 * `SqlClient` is provided too only with `provideSqlClient: true`. A `mariadb://` URL is taken as `mysql://`.
 */
export function layer(options: MysqlOptions & WithSqlClient): Layer.Layer<Services | SqlClient.SqlClient, MysqlError>
export function layer(options: MysqlOptions): Layer.Layer<Services, MysqlError>
export function layer(options: MysqlOptions): Layer.Layer<Services | SqlClient.SqlClient, MysqlError> {
  return onOwnClient(
    servicesLayer({ migrate: options.migrate ?? false, joinAppTransactions: false }),
    MysqlClient.layer({
      url: Redacted.make(options.url.replace(/^mariadb:/, "mysql:")),
      maxConnections: options.maxConnections ?? 10
    }),
    options
  )
}

/** The queue's pool as the program's database too: `layer` with `provideSqlClient: true`. */
export const mysql = (options: MysqlOptions): Layer.Layer<Services | SqlClient.SqlClient, MysqlError> =>
  layer({ ...options, provideSqlClient: true })
