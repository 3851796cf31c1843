/**
 * The boundary between the SQL layer and the rest: a failed statement (`SqlError`) or a row of an unexpected
 * shape (`ParseError`) becomes a `PersistenceError`, whose message says what the driver said.
 */
import { SqlError } from "@effect/sql"
import type { Effect } from "effect"
import { ParseResult } from "effect"
import { PersistenceError } from "../../Errors.js"

/** What a statement of the SQL layer can fail with. */
export type StatementError = SqlError.SqlError | ParseResult.ParseError

/** One line from a driver's error: Node's connection errors are often an AggregateError with an empty message. */
export const causeMessage = (cause: unknown): string => {
  if (cause instanceof AggregateError && cause.errors.length > 0) {
    return [...new Set(cause.errors.map(causeMessage))].join("; ")
  }
  const text = cause instanceof Error
    ? cause.message || (cause as { readonly code?: string }).code || cause.name
    : String(cause)
  return text.replace(/\s+/g, " ").trim()
}

/** A SqlError as one line: its own message and the driver's. */
export const describeSqlError = (e: SqlError.SqlError) => {
  const cause = causeMessage(e.cause)
  return cause === "" || e.message.includes(cause) ? e.message : `${e.message}: ${cause}`
}

export const toPersistenceError = (error: StatementError): PersistenceError =>
  new PersistenceError({
    message: ParseResult.isParseError(error)
      ? `a row of an unexpected shape: ${causeMessage(error)}`
      : describeSqlError(error),
    cause: error
  })

/** Any failure of a statement of the SQL layer, seen where its type is no longer known (the boundary's walk). */
export const asPersistenceError = (error: unknown): PersistenceError =>
  error instanceof PersistenceError
    ? error
    : error instanceof SqlError.SqlError || ParseResult.isParseError(error)
    ? toPersistenceError(error)
    : new PersistenceError({ message: causeMessage(error), cause: error })

/**
 * A service of the SQL layer as it is past the boundary: every effect, and every effect a function returns,
 * fails with `PersistenceError`. An effect that can fail with anything but a `StatementError` is no effect past
 * it, so that a domain error of the SQL layer is never silently turned into a persistence failure.
 */
export type Persisted<T> = T extends Effect.Effect<infer A, infer E, infer R>
  ? [E] extends [StatementError] ? Effect.Effect<A, PersistenceError, R> : { readonly failsWithMoreThanStatementErrors: E }
  : T extends (...args: infer P) => infer B ? (...args: P) => Persisted<B>
  : T extends object ? { readonly [K in keyof T]: Persisted<T[K]> }
  : T
