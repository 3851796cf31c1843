/**
 * Keeping steady-queue's statements on its own client. `@effect/sql` keeps the open transaction's connection in
 * one context tag that every client reads, so a statement of a separate queue client issued inside the app's
 * `withTransaction` would run on the app's connection, in the app's database, and roll back with it. An isolated
 * store removes that tag from the context of every effect it hands out, unless the effect runs inside the store's
 * own transaction. The same walk over the store's effects is the boundary of the SQL layer: what they fail with
 * becomes a `PersistenceError` there.
 */
import { SqlClient, type SqlConnection, type SqlError } from "@effect/sql"
import { Context, Effect, Option } from "effect"
import type { PersistenceError } from "../Errors.js"
import { asPersistenceError, type Persisted, toPersistenceError } from "./storage/persistence.js"

/** Marks the fibers inside a store's own transaction; the value identifies the store. */
class OwnTransaction extends Context.Tag("steady-queue/internal/StoreIsolation/OwnTransaction")<OwnTransaction, object>() {}

export interface Isolation {
  /** Runs `effect` on the store's own connections (or its own open transaction). */
  readonly isolate: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** The store's transaction: isolated first, and the store's effects inside it join it. */
  readonly withTransaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SqlError.SqlError, R>
}

/** On the app's own client: every statement joins the caller's transaction, if there is one. */
export const joining = (sql: SqlClient.SqlClient): Isolation => ({
  isolate: (effect) => effect,
  withTransaction: (effect) => sql.withTransaction(effect)
})

/**
 * On a client of its own. `ownConnection` is the client's only connection where it has just one (SQLite): a
 * transaction already open on it is kept, because a statement waiting for another connection would wait forever.
 */
export const isolated = (sql: SqlClient.SqlClient, ownConnection: SqlConnection.Connection | undefined): Isolation => {
  const token = {}
  const keeps = (context: Context.Context<never>) =>
    Option.match(Context.getOption(context, SqlClient.TransactionConnection), {
      onNone: () => true,
      onSome: ([connection]) =>
        connection === ownConnection ||
        Option.exists(Context.getOption(context, OwnTransaction), (owner) => owner === token)
    })
  const isolate = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.mapInputContext(effect, (context: Context.Context<R>) =>
      keeps(context as Context.Context<never>)
        ? context
        : (Context.omit(SqlClient.TransactionConnection)(context) as Context.Context<R>))
  return {
    isolate,
    withTransaction: (effect) => isolate(sql.withTransaction(Effect.provideService(effect, OwnTransaction, token)))
  }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype

/**
 * The boundary of the SQL layer: applies `isolate` to every effect of a service object, nested objects included,
 * and to every effect its functions return, and maps their failures to `PersistenceError` (what `Persisted` says).
 */
export const atBoundary = <T>(service: T, isolate: Isolation["isolate"]): Persisted<T> => {
  const guard = (effect: Effect.Effect<unknown, unknown, unknown>) => Effect.mapError(isolate(effect), asPersistenceError)
  const wrap = (value: unknown): unknown => {
    if (Effect.isEffect(value)) return guard(value)
    if (typeof value === "function") {
      const f = value as (...args: ReadonlyArray<unknown>) => unknown
      return (...args: ReadonlyArray<unknown>) => {
        const result = f(...args)
        return Effect.isEffect(result) ? guard(result) : result
      }
    }
    if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wrap(v)]))
    return value
  }
  // The walk above is `Persisted` at run time: same shape, every effect isolated and its failure mapped.
  return wrap(service) as Persisted<T>
}

/** Marks a failure of the effect run inside a transaction, to tell it from the transaction's own. */
class Inside<E> {
  constructor(readonly error: E) {}
}

/** `withTransaction` past the boundary: the effect's own failures come out as they are, BEGIN's and COMMIT's mapped. */
export const persistedTransaction = (withTransaction: Isolation["withTransaction"]) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | PersistenceError, R> =>
  withTransaction(Effect.mapError(effect, (error) => new Inside(error))).pipe(
    Effect.catchAll((error) => Effect.fail(error instanceof Inside ? error.error : toPersistenceError(error)))
  )
