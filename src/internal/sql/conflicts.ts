/**
 * Lock conflicts that the database settles by giving up on one transaction: a deadlock or a serialization
 * failure (PostgreSQL 40P01 and 40001; MySQL/MariaDB 1213, and a lock wait timeout, 1205) or SQLite's
 * SQLITE_BUSY after its busy timeout. The transaction that lost changed nothing, so running it again is the
 * answer, not a failure to report.
 */
import { SqlClient, SqlError } from "@effect/sql"
import { Effect } from "effect"

const mysqlErrnos = new Set([1205, 1213])
const sqlStates = new Set(["40P01", "40001"])

/** Whether `error` is a statement's failure whose driver error says the transaction lost a lock conflict. */
export const isLockConflict = (error: unknown): boolean => {
  if (!(error instanceof SqlError.SqlError)) return false
  const cause: unknown = error.cause
  if (typeof cause !== "object" || cause === null) return false
  const { code, errno } = cause as { readonly code?: unknown; readonly errno?: unknown }
  return (typeof errno === "number" && mysqlErrnos.has(errno)) ||
    (typeof code === "string" && (sqlStates.has(code) || code.startsWith("SQLITE_BUSY") ||
      code === "ER_LOCK_DEADLOCK" || code === "ER_LOCK_WAIT_TIMEOUT"))
}

/** Attempts after the first. Each is immediate: the transaction that won has gone on by the time we know. */
const retries = 3

/**
 * Runs `transaction` again when it loses a lock conflict, a few times, quietly. Only at the outermost level: inside
 * a transaction that is already open, the conflict has aborted that transaction too, and it is the caller's.
 */
export const retryLockConflicts = (what: string) =>
<A, E, R>(transaction: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (open) =>
    open._tag === "Some" ? transaction : transaction.pipe(
      Effect.tapError((error) =>
        error instanceof SqlError.SqlError && isLockConflict(error)
          ? Effect.logDebug(`steady-queue: ${what} lost a lock conflict; running it again`, error.cause)
          : Effect.void
      ),
      Effect.retry({ times: retries, while: isLockConflict })
    ))
