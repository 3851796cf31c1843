/**
 * Cancelling a job. One that waits (ready, scheduled, blocked) is taken from its execution table and ends
 * cancelled at once, giving back the slot a ready job of a limited task holds; of two transactions acting on it
 * only one takes the row. A running one is marked on its claim, for its worker to interrupt it; the worker
 * writes the outcome (claimed.ts `endAttempt`), so a cancel that arrives as the job finishes changes nothing.
 */
import type { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { CancelResult } from "../storage/Cancel.js"
import type { StatementError } from "../storage/persistence.js"
import type { Dialect } from "./dialect.js"
import { makeExecutions } from "./executions.js"
import { cancelChannel, notify, settledChannel } from "./notify.js"
import { affectedRows, decodeJobIds, decodeIds } from "./rows.js"
import type { makeSemaphores } from "./semaphores.js"

const waiting = [
  "steady_queue_ready_executions",
  "steady_queue_scheduled_executions",
  "steady_queue_blocked_executions"
] as const

export const makeCancel = (
  sql: SqlClient.SqlClient,
  dialect: Dialect,
  semaphores: Pick<ReturnType<typeof makeSemaphores>, "limitsOf" | "signal" | "lockFor">
) => {
  const executions = makeExecutions(sql, dialect)

  const cancelWaiting = (jobId: number, now: number) =>
    Effect.gen(function*() {
      for (const table of waiting) {
        const taken = yield* dialect.takeJobs(table, sql`job_id = ${jobId}`)
        if (taken.length === 0) continue
        // Only a ready job holds a slot (a blocked one waits for one; a scheduled one has not asked yet).
        const slots = table === "steady_queue_ready_executions" ? yield* semaphores.limitsOf(taken) : []
        yield* semaphores.lockFor(slots)
        yield* executions.cancelled([jobId], now)
        yield* semaphores.signal(slots, now)
        yield* notify(sql, dialect, settledChannel, [jobId])
        return true
      }
      return false
    })

  const requestStop = (jobId: number, now: number) =>
    Effect.gen(function*() {
      const marked = yield* sql`UPDATE steady_queue_claimed_executions SET cancel_requested_at = ${now}
                                WHERE job_id = ${jobId} AND cancel_requested_at IS NULL`.raw.pipe(Effect.map(affectedRows))
      const claimed = marked > 0 ||
        (yield* sql`SELECT job_id FROM steady_queue_claimed_executions WHERE job_id = ${jobId}`.pipe(Effect.flatMap(decodeJobIds)))
            .length > 0
      if (claimed) yield* notify(sql, dialect, cancelChannel, [jobId])
      return claimed
    })

  const cancel = (jobId: number, now: number): Effect.Effect<CancelResult, StatementError> =>
    sql.withTransaction(Effect.gen(function*() {
      if (yield* cancelWaiting(jobId, now)) return "cancelled"
      if (yield* requestStop(jobId, now)) return "requested"
      const exists = yield* sql`SELECT id FROM steady_queue_jobs WHERE id = ${jobId}`.pipe(Effect.flatMap(decodeIds))
      return exists.length > 0 ? "ended" : "missing"
    }))

  /** The jobs `processId` holds that were asked to cancel. */
  const requestedOf = (processId: number) =>
    sql`SELECT job_id FROM steady_queue_claimed_executions
        WHERE process_id = ${processId} AND cancel_requested_at IS NOT NULL`.pipe(Effect.flatMap(decodeJobIds))

  return { cancel, requestedOf } as const
}
