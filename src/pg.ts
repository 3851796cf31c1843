/**
 * PostgreSQL: `steady-queue/pg`. Needs the optional peer `@effect/sql-pg` (`npm install @effect/sql-pg`); the main
 * entry never loads it.
 */
import type { SqlClient } from "@effect/sql"
import type { Duration, Layer } from "effect"
import { onOwnClient } from "./internal/ownClient.js"
import * as PgPool from "./internal/pgPool.js"
import { type LayerError, layer as servicesLayer, type ServerOptions, type Services, type WithSqlClient } from "./SteadyQueue.js"

export interface PgOptions extends ServerOptions {
  /** How long to wait for a new connection before failing (default: 5 seconds). */
  readonly connectTimeout?: Duration.DurationInput
  /**
   * Whether the hot path's statements (claim, enqueue) are prepared once per connection (default: true).
   * Turn it off behind a pooler that cannot keep prepared statements (PgBouncer in transaction mode before 1.21).
   */
  readonly preparedStatements?: boolean
}

/**
 * steady-queue's services on a pool of their own: they never join the app's transactions. The pool's
 * `SqlClient` is provided too only with `provideSqlClient: true`.
 */
export function layer(options: PgOptions & WithSqlClient): Layer.Layer<Services | SqlClient.SqlClient, LayerError>
export function layer(options: PgOptions): Layer.Layer<Services, LayerError>
export function layer(options: PgOptions): Layer.Layer<Services | SqlClient.SqlClient, LayerError> {
  return onOwnClient(
    servicesLayer({ migrate: options.migrate ?? false, joinAppTransactions: false }),
    PgPool.layer({
      url: options.url,
      maxConnections: options.maxConnections ?? 10,
      connectTimeout: options.connectTimeout,
      preparedStatements: options.preparedStatements
    }),
    options
  )
}

/**
 * The queue's pool as the program's database too: `layer` with `provideSqlClient: true`, for programs (workers,
 * scripts) whose only database is the queue's.
 */
export const pg = (options: PgOptions): Layer.Layer<Services | SqlClient.SqlClient, LayerError> =>
  layer({ ...options, provideSqlClient: true })
