/**
 * Taking execution rows by job id: deletes them and returns the job ids that had one, so that of two operators
 * acting on the same job only one moves it.
 */
import type { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { DialectInfo } from "./dialect.js"
import type { StatementError } from "../storage/persistence.js"
import { decodeIds, decodeJobIds } from "./rows.js"

export const makeTakeExecutions = (sql: SqlClient.SqlClient, info: DialectInfo) =>
(
  table: "steady_queue_failed_executions" | "steady_queue_scheduled_executions" | "steady_queue_ready_executions",
  jobIds: ReadonlyArray<number>
): Effect.Effect<ReadonlyArray<number>, StatementError> => {
  if (jobIds.length === 0) return Effect.succeed([])
  const name = sql.literal(table)
  return info.insertReturning
    ? sql`DELETE FROM ${name} WHERE ${sql.in("job_id", jobIds)} RETURNING job_id`.pipe(Effect.flatMap(decodeJobIds))
    // MySQL: lock, then delete by primary key.
    : sql`SELECT id, job_id FROM ${name} WHERE ${sql.in("job_id", jobIds)} ORDER BY id FOR UPDATE`.pipe(
      Effect.tap((rows) =>
        rows.length === 0
          ? Effect.void
          : Effect.flatMap(decodeIds(rows), (ids) => sql`DELETE FROM ${name} WHERE ${sql.in("id", ids)}`.unprepared)
      ),
      Effect.flatMap(decodeJobIds)
    )
}
