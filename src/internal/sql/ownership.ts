/**
 * Which claims a process still holds: a worker that finds it was pruned asks, to stop the handlers of the jobs
 * that are no longer its own.
 */
import type { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { decodeJobIds, decodeJobRows } from "./rows.js"

export const makeOwnership = (sql: SqlClient.SqlClient) => ({
  claimedBy: (processId: number) =>
    sql`SELECT job_id FROM steady_queue_claimed_executions WHERE process_id = ${processId}`.pipe(Effect.flatMap(decodeJobIds)),
  /**
   * The jobs a process holds that started, as a worker would run them (for failing them when the process is
   * gone; the claims it never started go back to ready instead).
   */
  held: (processId: number) =>
    sql`SELECT j.id, j.public_id, j.queue_name, j.task_name, j.arguments, j.priority, j.attempts, j.scheduled_at,
               j.created_at, j.concurrency_key, j.concurrency_limit, j.concurrency_duration
        FROM steady_queue_claimed_executions c JOIN steady_queue_jobs j ON j.id = c.job_id
        WHERE c.process_id = ${processId} AND c.started_at IS NOT NULL ORDER BY j.id`.pipe(Effect.flatMap(decodeJobRows))
})
