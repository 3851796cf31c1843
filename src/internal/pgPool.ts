/**
 * steady-queue's own PostgreSQL pool, with prepared statements for the hot path. `@effect/sql-pg` sends every
 * statement unnamed, so the server parses and plans it each time: for a claim or a single enqueue that is about
 * 0.3 ms, more than running it. A statement whose text starts with `prepared` (sql/prepared.ts) is sent named
 * instead, parsed and planned once per connection. Only statements whose text never varies and whose one plan
 * suits every call are marked (the claim and the enqueue), so each connection holds a handful. Off
 * (`preparedStatements: false`) behind a pooler that cannot keep prepared statements, such as PgBouncer in
 * transaction mode before 1.21.
 */
import { type SqlClient, SqlError } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, type Layer } from "effect"
import type * as Pg from "pg"
import { loadDriver } from "./pgListen.js"
import { prepared } from "./sql/prepared.js"

/** Statement names by text, for the whole process: a text keeps its name on every connection. */
const names = new Map<string, string>()
const nameOf = (text: string) => {
  let name = names.get(text)
  if (name === undefined) {
    name = `steady_queue_${names.size + 1}`
    names.set(text, name)
  }
  return name
}

type Query = (...args: ReadonlyArray<unknown>) => unknown

/** Clients that send marked statements named; `@effect/sql-pg` calls `query(text, values, callback)`. */
const preparing = (Client: typeof Pg.Client): typeof Pg.Client =>
  function PreparingClient(config?: string | Pg.ClientConfig) {
    const client = new Client(config)
    const query = client.query.bind(client) as Query
    const named: Query = (text, values, callback) =>
      typeof text === "string" && text.startsWith(prepared) && Array.isArray(values)
        ? query({ name: nameOf(text), text, values }, callback)
        : query(text, values, callback)
    client.query = named as typeof client.query
    return client
  } as unknown as typeof Pg.Client

export interface PoolOptions {
  readonly url: string
  readonly maxConnections: number
  readonly connectTimeout?: Duration.DurationInput | undefined
  readonly preparedStatements?: boolean | undefined
}

const failed = (message: string) => (cause: unknown) => new SqlError.SqlError({ cause, message })

/** A pool checked with one statement before it is used, ended with the scope. */
const pool = (options: PoolOptions) =>
  Effect.gen(function*() {
    const { Client, Pool } = yield* Effect.mapError(loadDriver, failed("PgClient: the pg driver could not be loaded"))
    const connectTimeout = Duration.decode(options.connectTimeout ?? Duration.seconds(5))
    const pool = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const pool = new Pool({
          connectionString: options.url,
          max: options.maxConnections,
          connectionTimeoutMillis: Duration.toMillis(connectTimeout),
          application_name: "steady-queue",
          Client: options.preparedStatements === false ? Client : preparing(Client)
        })
        // Errors of idle clients come here; the next statement on the pool sees the connection is gone.
        pool.on("error", () => undefined)
        return pool
      }),
      (pool) => Effect.promise(() => pool.end()).pipe(Effect.interruptible, Effect.timeoutOption(1000))
    )
    yield* Effect.tryPromise({ try: () => pool.query("SELECT 1"), catch: failed("PgClient: Failed to connect") }).pipe(
      Effect.timeoutFail({ duration: connectTimeout, onTimeout: () => failed("PgClient: Connection timed out")(undefined) })
    )
    return pool
  })

export const layer = (options: PoolOptions): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError.SqlError> =>
  PgClient.layerFromPool({ acquire: pool(options) })
