/**
 * Deleting rows that the transaction has already locked, by primary key: the dialect's `deleteByIds` (on
 * MySQL/MariaDB a join from the id list, so the plan never depends on the table's statistics).
 */
import type { SqlClient } from "@effect/sql"
import type { Dialect } from "./dialect.js"

export const deleteByPrimaryKey = (
  _sql: SqlClient.SqlClient,
  dialect: Dialect,
  table: "steady_queue_ready_executions" | "steady_queue_scheduled_executions",
  ids: ReadonlyArray<number>
) => dialect.deleteByIds(table, ids)
