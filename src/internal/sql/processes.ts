/**
 * The process registry: every supervisor, worker, dispatcher and scheduler has a row it keeps alive.
 */
import type { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { DialectInfo } from "./dialect.js"
import { decodeIdRows } from "./rows.js"

export interface NewProcess {
  readonly kind: string
  readonly name: string
  readonly pid: number
  readonly hostname: string
  readonly supervisorId: number | null
  readonly metadata: string
}

export const makeProcesses = (sql: SqlClient.SqlClient, info: DialectInfo) => ({
  register: (p: NewProcess, now: number) => {
    const row = {
      kind: p.kind,
      name: p.name,
      pid: p.pid,
      hostname: p.hostname,
      supervisor_id: p.supervisorId,
      metadata: p.metadata,
      last_heartbeat_at: now,
      created_at: now
    }
    return info.insertReturning
      ? sql`INSERT INTO steady_queue_processes ${sql.insert(row)} RETURNING id`.pipe(
        Effect.map((rows) => decodeIdRows(rows)[0].id)
      )
      : sql`INSERT INTO steady_queue_processes ${sql.insert(row)}`.raw.pipe(
        Effect.map((raw) => Number((raw as { readonly insertId: number | string }).insertId))
      )
  },
  heartbeat: (id: number, now: number) =>
    sql`UPDATE steady_queue_processes SET last_heartbeat_at = ${now} WHERE id = ${id}`,
  deregister: (id: number) => sql`DELETE FROM steady_queue_processes WHERE id = ${id}`
})
