/**
 * Taking execution rows by job id: deletes them and returns the job ids that had one, so that of two operators
 * acting on the same job only one moves it. The statement is the dialect's `takeJobs`.
 */
import type { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Dialect } from "./dialect.js"
import type { StatementError } from "../storage/persistence.js"

export const makeTakeExecutions = (sql: SqlClient.SqlClient, dialect: Dialect) =>
(
  table: "steady_queue_failed_executions" | "steady_queue_scheduled_executions" | "steady_queue_ready_executions",
  jobIds: ReadonlyArray<number>
): Effect.Effect<ReadonlyArray<number>, StatementError> =>
  jobIds.length === 0 ? Effect.succeed([]) : dialect.takeJobs(table, sql.in("job_id", jobIds))
