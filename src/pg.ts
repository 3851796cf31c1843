/**
 * PostgreSQL: `steady-queue/pg`. Needs the optional peer `@effect/sql-pg` (`npm install @effect/sql-pg`); the main
 * entry never loads it.
 */
import type { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { type Duration, Layer, Redacted } from "effect"
import { type LayerError, layer as servicesLayer, type ServerOptions, type Services } from "./SteadyQueue.js"

export interface PgOptions extends ServerOptions {
  /** How long to wait for a new connection before failing (default: the driver's). */
  readonly connectTimeout?: Duration.DurationInput
}

/** steady-queue's services and a `SqlClient` on a pool of its own: it never joins the app's transactions. */
export const layer = (options: PgOptions): Layer.Layer<Services | SqlClient.SqlClient, LayerError> =>
  servicesLayer({ migrate: options.migrate ?? false, joinAppTransactions: false }).pipe(
    Layer.provideMerge(PgClient.layer({
      url: Redacted.make(options.url),
      maxConnections: options.maxConnections ?? 10,
      ...(options.connectTimeout === undefined ? {} : { connectTimeout: options.connectTimeout })
    }))
  )
