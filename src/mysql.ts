/**
 * MySQL 8 or MariaDB 10.6+: `steady-queue/mysql`. Needs the optional peer `@effect/sql-mysql2`
 * (`npm install @effect/sql-mysql2`); the main entry never loads it.
 */
import type { SqlClient } from "@effect/sql"
import { MysqlClient } from "@effect/sql-mysql2"
import { type ConfigError, Layer, Redacted } from "effect"
import { type LayerError, layer as servicesLayer, type ServerOptions, type Services } from "./SteadyQueue.js"

export type MysqlOptions = ServerOptions

/**
 * steady-queue's services and a `SqlClient` on a pool of its own: it never joins the app's transactions. A
 * `mariadb://` URL is taken as `mysql://`.
 */
export const layer = (options: MysqlOptions): Layer.Layer<Services | SqlClient.SqlClient, LayerError | ConfigError.ConfigError> =>
  servicesLayer({ migrate: options.migrate ?? false, joinAppTransactions: false }).pipe(
    Layer.provideMerge(MysqlClient.layer({
      url: Redacted.make(options.url.replace(/^mariadb:/, "mysql:")),
      maxConnections: options.maxConnections ?? 10
    }))
  )
