/**
 * Which claims a process still holds: a worker that finds it was pruned asks, to stop the handlers of the jobs
 * that are no longer its own.
 */
import type { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { decodeJobIds } from "./rows.js"

export const makeOwnership = (sql: SqlClient.SqlClient) => ({
  claimedBy: (processId: number) =>
    sql`SELECT job_id FROM steady_queue_claimed_executions WHERE process_id = ${processId}`.pipe(Effect.flatMap(decodeJobIds))
})
