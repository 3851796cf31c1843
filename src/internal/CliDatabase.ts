/**
 * The `--database-url` option every command takes, and how a command gets steady-queue's services from it.
 * Kept apart from Cli.ts so that the command modules can share it without importing each other.
 *
 * A command that cannot use the database says why in one line and exits 1, within `connectTimeout`: the
 * server does not answer or refuses the login, the SQLite file does not exist (only `migrate` creates it), or
 * the tables are missing (run `steady-queue migrate`).
 */
import { Options } from "@effect/cli"
import { SqlError } from "@effect/sql"
import { Config, Duration, Effect, Layer, Option } from "effect"
import * as fs from "node:fs"
import { DatabaseUnavailableError, InvalidConfigError, MissingDriverError, PersistenceError } from "../Errors.js"
import * as SteadyQueue from "../SteadyQueue.js"
import { loadDriver } from "./drivers.js"
import { causeMessage, describeSqlError } from "./storage/persistence.js"
import { sqlClient } from "./RuntimeContext.js"

export const databaseUrl = Options.text("database-url").pipe(
  Options.withDescription("postgres://..., mysql://... or sqlite:path (default: $STEADY_QUEUE_DATABASE_URL)"),
  Options.optional
)

/** How long a command waits for the database server before giving up. */
export const connectTimeout = Duration.seconds(5)


export const resolveUrl = (flag: Option.Option<string>) =>
  Option.match(flag, {
    onSome: Effect.succeed,
    onNone: () =>
      Config.nonEmptyString("STEADY_QUEUE_DATABASE_URL").pipe(
        Effect.mapError(() =>
          new InvalidConfigError({ message: "no database: pass --database-url or set STEADY_QUEUE_DATABASE_URL" })
        )
      )
  })

/** The URL without its password, for messages. */
export const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@")

const sqlitePath = (url: string) => url.slice("sqlite:".length).replace(/^\/\//, "")

export { causeMessage, describeSqlError }

/** A statement that failed, run by the command itself (`SqlError`) or by steady-queue's store (`PersistenceError`). */
export type DatabaseError = SqlError.SqlError | PersistenceError

export const isDatabaseError = (e: unknown): e is DatabaseError =>
  e instanceof SqlError.SqlError || e instanceof PersistenceError

/** A database error as one line: the statement's own message and the driver's. */
export const describeDatabaseError = (e: DatabaseError) =>
  e instanceof PersistenceError
    ? e.cause instanceof SqlError.SqlError ? describeSqlError(e.cause) : e.message
    : describeSqlError(e)

const withMysqlTimeout = (url: string) => {
  const parsed = new URL(url.replace(/^mariadb:/, "mysql:"))
  if (!parsed.searchParams.has("connectTimeout")) parsed.searchParams.set("connectTimeout", String(Duration.toMillis(connectTimeout)))
  return parsed.toString()
}

/** The driver's layer with a short connection timeout and a small pool (a command runs a few statements). */
const clientLayer = (url: string, maxConnections: number) =>
  /^postgres(ql)?:\/\//.test(url)
    ? Layer.unwrapEffect(Effect.map(loadDriver("pg"), (pg) => pg.layer({ url, connectTimeout, maxConnections })))
    : /^(mysql|mariadb):\/\//.test(url)
    ? Layer.unwrapEffect(Effect.map(loadDriver("mysql"), (mysql) => mysql.layer({ url: withMysqlTimeout(url), maxConnections })))
    : SteadyQueue.fromUrl(url, { maxConnections })

export interface ServicesOptions {
  /** `migrate`: create a missing SQLite file, and do not ask for the tables. */
  readonly migrating?: boolean
  readonly maxConnections?: number
}

/**
 * steady-queue's services on `url`, for a command: fails with `DatabaseUnavailableError` (one line) when the
 * server cannot be reached in `connectTimeout` or refuses the login, when a SQLite file is missing (it is not
 * created, except by `migrate`), or when the tables are missing.
 */
export const servicesLayer = (
  url: string,
  options: ServicesOptions = {}
): Layer.Layer<SteadyQueue.Services, DatabaseUnavailableError | InvalidConfigError | MissingDriverError> =>
  Layer.unwrapScoped(Effect.gen(function*() {
    if (url.startsWith("sqlite:") && !options.migrating) {
      const file = sqlitePath(url)
      if (file !== ":memory:" && !fs.existsSync(file)) {
        return yield* new DatabaseUnavailableError({
          message: `no SQLite database at ${file} (steady-queue migrate creates it)`
        })
      }
    }
    const unavailable = (e: unknown) =>
      e instanceof InvalidConfigError || e instanceof MissingDriverError
        ? e
        : new DatabaseUnavailableError({
          message: `cannot use the database at ${redact(url)}: ${e instanceof SqlError.SqlError ? describeSqlError(e) : causeMessage(e)}`
        })
    const context = yield* Layer.build(clientLayer(url, options.maxConnections ?? 2)).pipe(
      Effect.timeoutFail({
        duration: Duration.sum(connectTimeout, Duration.seconds(1)),
        onTimeout: () => new SqlError.SqlError({ cause: new Error(`no answer within ${Duration.format(connectTimeout)}`) })
      }),
      Effect.mapError(unavailable)
    )
    if (!options.migrating) {
      const sql = yield* Effect.provide(sqlClient, context)
      yield* sql`SELECT 1 FROM steady_queue_jobs WHERE 1 = 0`.pipe(
        Effect.mapError((e) =>
          new DatabaseUnavailableError({
            message: `the database at ${redact(url)} has no steady-queue tables; run steady-queue migrate first (${describeSqlError(e)})`
          })
        )
      )
    }
    return Layer.succeedContext(context)
  }))

/** Runs `effect` with the services on the database the flag (or the environment) names. */
export const withServices = <A, E>(
  flag: Option.Option<string>,
  effect: Effect.Effect<A, E, SteadyQueue.Services>,
  options?: ServicesOptions
) => Effect.flatMap(resolveUrl(flag), (url) => Effect.provide(effect, servicesLayer(url, options)))
