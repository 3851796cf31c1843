/**
 * PostgreSQL's LISTEN connection: a `pg.Client` of its own, outside the pool, opened with the connection options
 * of the app's or steady-queue's `PgClient` (`@effect/sql-pg` keeps them on the client as `config`) and named
 * `steady-queue-listen` in `pg_stat_activity`. `PgClient.listen` is not used: when its connection drops it goes
 * silent, with no error and no more notices.
 */
import type { SqlClient } from "@effect/sql"
import type { PgClientConfig } from "@effect/sql-pg/PgClient"
import { Deferred, Duration, Effect, Redacted, type Scope } from "effect"
import { createRequire } from "node:module"
import type * as Pg from "pg"
import type { ListenConnection } from "./Listener.js"

/** The LISTEN connection's `application_name`. */
export const listenApplicationName = "steady-queue-listen"

/** How long opening the connection may take when the client's options give no limit. */
const defaultConnectTimeout = Duration.seconds(10)

/** The client's connection options, where it is `@effect/sql-pg`'s `PgClient` (it keeps them as `config`). */
export const configOf = (sql: SqlClient.SqlClient): PgClientConfig | undefined => {
  const config = (sql as { readonly config?: unknown }).config
  return "~@effect/sql-pg/PgClient" in sql && typeof config === "object" && config !== null
    ? config as PgClientConfig
    : undefined
}

/** The options `PgClient` gives its pool, as far as one connection needs them, under a name of its own. */
export const clientOptions = (config: PgClientConfig): Pg.ClientConfig => ({
  ...(config.url === undefined ? {} : { connectionString: Redacted.value(config.url) }),
  host: config.host,
  port: config.port,
  database: config.database,
  user: config.username,
  password: config.password === undefined ? undefined : Redacted.value(config.password),
  ssl: config.ssl,
  ...(config.stream === undefined ? {} : { stream: config.stream }),
  connectionTimeoutMillis: Duration.toMillis(config.connectTimeout ?? defaultConnectTimeout),
  application_name: listenApplicationName,
  // A peer that vanished is noticed by the health check; keep-alive lets the socket notice it too.
  keepAlive: true
})

type ClientClass = typeof Pg.Client

/** The driver's classes this library uses. */
export interface PgDriver {
  readonly Client: ClientClass
  readonly Pool: typeof Pg.Pool
}

const driverOf = (module: unknown): PgDriver => {
  const m = module as Partial<PgDriver> & { readonly default?: Partial<PgDriver> }
  const Client = m.default?.Client ?? m.Client
  const Pool = m.default?.Pool ?? m.Pool
  if (Client === undefined || Pool === undefined) throw new Error("the pg module has no Client or Pool")
  return { Client, Pool }
}

/**
 * The `pg` driver: the app's, or else the one `@effect/sql-pg` depends on (package managers that do not hoist
 * leave it reachable only from there).
 */
export const loadDriver: Effect.Effect<PgDriver, unknown> = Effect.tryPromise({
  try: async () => {
    try {
      return driverOf(await import("pg"))
    } catch {
      const require = createRequire(import.meta.url)
      return driverOf(createRequire(require.resolve("@effect/sql-pg"))("pg"))
    }
  },
  catch: (e) => e
})

const quoted = (channel: string) => `"${channel.replaceAll("\"", "\"\"")}"`

/**
 * Closes a client. One whose peer is gone may never see the goodbye answered: after a while its socket is
 * destroyed (interruptible, since finalizers are not).
 */
const close = (client: Pg.Client) =>
  Effect.tryPromise(() => client.end()).pipe(
    Effect.ignore,
    Effect.interruptible,
    Effect.timeout(Duration.seconds(1)),
    Effect.catchAll(() => Effect.sync(() => client.connection.stream.destroy()))
  )

/** Opens a client that listens on `channels`, handing each notice to `deliver`; closed with the scope. */
export const openListen = (
  Client: ClientClass,
  options: Pg.ClientConfig,
  channels: ReadonlyArray<string>,
  deliver: (channel: string, payload: string) => void
): Effect.Effect<ListenConnection, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const lost = yield* Deferred.make<never, unknown>()
    const client = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const client = new Client(options)
          // Kept for the client's whole life: an `error` event nobody listens to would crash the process.
          client.on("error", (error) => Deferred.unsafeDone(lost, Effect.fail(error)))
          client.on("end", () => Deferred.unsafeDone(lost, Effect.fail(new Error("the connection ended"))))
          client.on("notification", (n) => n.payload === undefined ? undefined : deliver(n.channel, n.payload))
          await client.connect().catch((error: unknown) => {
            client.end().catch(() => undefined)
            throw error
          })
          return client
        },
        catch: (e) => e
      }),
      close
    )
    yield* Effect.tryPromise({
      try: () => client.query(channels.map((c) => `LISTEN ${quoted(c)}`).join("; ")),
      catch: (e) => e
    })
    return {
      lost: Deferred.await(lost),
      ping: Effect.asVoid(Effect.tryPromise({ try: () => client.query("SELECT 1"), catch: (e) => e }))
    }
  })
