/**
 * The process registry: every supervisor, worker, dispatcher and scheduler has a row it keeps alive.
 */
import type { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { NewProcess } from "../storage/Processes.js"
import type { Dialect } from "./dialect.js"
import { affectedRows, decodeIds } from "./rows.js"

export const makeProcesses = (sql: SqlClient.SqlClient, dialect: Dialect) => ({
  /** Inserts the row; with `id`, puts back the row of a process that was pruned while it was alive. */
  register: (p: NewProcess, now: number, id?: number) => {
    const row = {
      ...(id === undefined ? {} : { id }),
      kind: p.kind,
      name: p.name,
      pid: p.pid,
      hostname: p.hostname,
      supervisor_id: p.supervisorId,
      metadata: p.metadata,
      last_heartbeat_at: now,
      created_at: now
    }
    return dialect.insertId("steady_queue_processes", row)
  },
  /** Returns whether the row was still there. */
  heartbeat: (id: number, now: number) =>
    sql`UPDATE steady_queue_processes SET last_heartbeat_at = ${now} WHERE id = ${id}`.raw.pipe(
      Effect.map((raw) => affectedRows(raw) > 0)
    ),
  deregister: (id: number) => sql`DELETE FROM steady_queue_processes WHERE id = ${id}`,
  /** Processes whose last heartbeat is older than `before`. */
  expired: (before: number) =>
    sql`SELECT id FROM steady_queue_processes WHERE last_heartbeat_at < ${before} ORDER BY id`.pipe(
      Effect.flatMap(decodeIds)
    ),
  /** Process ids that hold claims but have no row. */
  orphanedClaimOwners: sql`SELECT DISTINCT c.process_id AS id FROM steady_queue_claimed_executions c
      WHERE c.process_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM steady_queue_processes p WHERE p.id = c.process_id)`.pipe(
    Effect.flatMap(decodeIds)
  ),
  /** The rows a child process registered under a supervisor. */
  bySupervisorAndPid: (supervisorId: number, pid: number) =>
    sql`SELECT id FROM steady_queue_processes WHERE supervisor_id = ${supervisorId} AND pid = ${pid}`.pipe(
      Effect.flatMap(decodeIds)
    )
})
