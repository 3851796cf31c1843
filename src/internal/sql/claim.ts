/**
 * Claiming ready jobs for a worker: the two polling queries of the seeds, each moving the rows it picks from
 * ready to claimed in one transaction, so two workers can never claim the same job.
 */
import type { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { retryLockConflicts } from "./conflicts.js"
import { deleteByPrimaryKey } from "./deleteByKey.js"
import type { DialectInfo } from "./dialect.js"
import type { StatementError } from "../storage/persistence.js"
import { decodeIds, decodeJobIdRows, decodeJobIds, decodeJobRows, type JobRow } from "./rows.js"

export type Claim = (
  queue: string | undefined,
  limit: number,
  processId: number,
  now: number
) => Effect.Effect<ReadonlyArray<JobRow>, StatementError>

/**
 * Whether the claim statement itself leaves paused queues alone. PostgreSQL and SQLite check the pauses table
 * inside the claim; MySQL/MariaDB do not (a locking read there may lock or skip rows of a subquery), so their
 * workers read the pauses first.
 */
export const claimGuardsPauses = (info: DialectInfo) => info.dialect !== "mysql"

export const makeClaim = (sql: SqlClient.SqlClient, info: DialectInfo): Claim => {
  // `undefined` is the all-queues query; a name is the single-queue one. Both are served by an index.
  // The pause guard on the all-queues query is a constant: with any queue paused it claims nothing.
  const guarded = claimGuardsPauses(info)
  const where = (queue: string | undefined) =>
    queue === undefined
      ? guarded ? sql`WHERE NOT EXISTS (SELECT 1 FROM steady_queue_pauses)` : sql``
      : guarded
      ? sql`WHERE queue_name = ${queue} AND NOT EXISTS (SELECT 1 FROM steady_queue_pauses p WHERE p.queue_name = ${queue})`
      : sql`WHERE queue_name = ${queue}`
  const limitOf = (n: number) => sql.literal(String(Math.max(0, Math.trunc(n))))
  const order = sql.literal("ORDER BY priority DESC, job_id ASC")
  // A claim that loses a deadlock changed nothing: it runs again instead of failing the poll.
  const retrying = retryLockConflicts("a claim")

  const selectJobs = (ids: ReadonlyArray<number>) =>
    ids.length === 0
      ? Effect.succeed([] as ReadonlyArray<JobRow>)
      : sql`SELECT id, public_id, queue_name, task_name, arguments, priority, attempts, scheduled_at, created_at,
                   concurrency_key, concurrency_limit, concurrency_duration
            FROM steady_queue_jobs WHERE ${sql.in("id", ids)} ORDER BY priority DESC, id ASC`.pipe(
        Effect.flatMap(decodeJobRows)
      )

  const insertClaims = (jobIds: ReadonlyArray<number>, processId: number, now: number) =>
    sql`INSERT INTO steady_queue_claimed_executions ${
      sql.insert(jobIds.map((job_id) => ({ job_id, process_id: processId, created_at: now })))
    }`.unprepared

  switch (info.dialect) {
    case "pg":
      // One round trip: lock, move and read back in a single statement. The id arrays keep both the delete and
      // the read on primary keys whatever the planner's statistics say (a join may turn into full scans).
      return (queue, limit, processId, now) =>
        retrying(sql`WITH picked AS (
              SELECT id, job_id FROM steady_queue_ready_executions ${where(queue)}
              ${order} LIMIT ${limitOf(limit)} FOR UPDATE SKIP LOCKED
            ), moved AS (
              DELETE FROM steady_queue_ready_executions r WHERE r.id = ANY(ARRAY(SELECT id FROM picked)) RETURNING r.job_id
            ), claimed AS (
              INSERT INTO steady_queue_claimed_executions (job_id, process_id, created_at)
              SELECT job_id, ${processId}, ${now} FROM moved RETURNING job_id
            )
            SELECT j.id, j.public_id, j.queue_name, j.task_name, j.arguments, j.priority, j.attempts,
                   j.scheduled_at, j.created_at, j.concurrency_key, j.concurrency_limit, j.concurrency_duration
            FROM steady_queue_jobs j WHERE j.id = ANY(ARRAY(SELECT job_id FROM claimed))
            ORDER BY j.priority DESC, j.id ASC`.pipe(Effect.flatMap(decodeJobRows)))
    case "sqlite":
      // No row locks in SQLite: the DELETE itself takes the write lock, so it must be the first statement.
      return (queue, limit, processId, now) =>
        retrying(sql.withTransaction(Effect.gen(function*() {
          const moved = yield* decodeJobIdRows(
            yield* sql`DELETE FROM steady_queue_ready_executions WHERE id IN (
                         SELECT id FROM steady_queue_ready_executions ${where(queue)} ${order} LIMIT ${limitOf(limit)}
                       ) RETURNING job_id`
          )
          if (moved.length === 0) return []
          const ids = moved.map((r) => r.job_id)
          yield* insertClaims(ids, processId, now)
          return yield* selectJobs(ids)
        })))
    case "mysql":
      return (queue, limit, processId, now) =>
        retrying(sql.withTransaction(Effect.gen(function*() {
          const picked = yield* sql<{ readonly id: unknown; readonly job_id: unknown }>`
            SELECT id, job_id FROM steady_queue_ready_executions ${where(queue)}
            ${order} LIMIT ${limitOf(limit)} FOR UPDATE SKIP LOCKED`
          if (picked.length === 0) return [] as ReadonlyArray<JobRow>
          const rowIds = yield* decodeIds(picked)
          const jobIds = yield* decodeJobIds(picked)
          yield* insertClaims(jobIds, processId, now)
          // By primary key, in one statement, whatever the planner thinks of the table: no other row gets locked.
          yield* deleteByPrimaryKey(sql, info, "steady_queue_ready_executions", rowIds)
          // Read back inside the transaction: a failed read then rolls the claim back instead of stranding it.
          return yield* selectJobs(jobIds)
        })))
  }
}
