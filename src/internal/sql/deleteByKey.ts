/**
 * Deleting rows that the transaction has already locked, by primary key. On MySQL/MariaDB a plain
 * `DELETE ... WHERE id IN (...)` is planned from the table's statistics: taken while the table was nearly empty
 * (a queue that was idle, then a burst), they make a full scan look cheaper, and a full scan locks every row it
 * passes, other transactions' locked rows included, which deadlocks concurrent claims. Joining from the list of
 * ids reads each row by its key whatever the statistics say.
 */
import type { SqlClient } from "@effect/sql"
import type { DialectInfo } from "./dialect.js"

export const deleteByPrimaryKey = (
  sql: SqlClient.SqlClient,
  info: DialectInfo,
  table: "steady_queue_ready_executions" | "steady_queue_scheduled_executions",
  ids: ReadonlyArray<number>
) =>
  info.dialect === "mysql"
    ? sql`DELETE t FROM JSON_TABLE(${JSON.stringify(ids)}, '$[*]' COLUMNS (id BIGINT PATH '$')) AS k
          STRAIGHT_JOIN ${sql.literal(table)} AS t ON t.id = k.id`.unprepared
    : sql`DELETE FROM ${sql.literal(table)} WHERE ${sql.in("id", ids)}`.unprepared
