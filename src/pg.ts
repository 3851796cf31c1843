/**
 * PostgreSQL: `steady-queue/pg`. Needs the optional peer `@effect/sql-pg` (`npm install @effect/sql-pg`); the main
 * entry never loads it.
 */
import type { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { type Duration, type Layer, Redacted } from "effect"
import { onOwnClient } from "./internal/ownClient.js"
import { type LayerError, layer as servicesLayer, type ServerOptions, type Services, type WithSqlClient } from "./SteadyQueue.js"

export interface PgOptions extends ServerOptions {
  /** How long to wait for a new connection before failing (default: the driver's). */
  readonly connectTimeout?: Duration.DurationInput
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
    PgClient.layer({
      url: Redacted.make(options.url),
      maxConnections: options.maxConnections ?? 10,
      ...(options.connectTimeout === undefined ? {} : { connectTimeout: options.connectTimeout })
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
