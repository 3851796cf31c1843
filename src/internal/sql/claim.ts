/**
 * Claiming ready jobs for a worker: the two polling queries of the seeds, each moving the rows it picks from
 * ready to claimed in one transaction, so two workers can never claim the same job.
 */
import type { SqlClient, Statement } from "@effect/sql"
import { Effect } from "effect"
import { retryLockConflicts } from "./conflicts.js"
import { prepared } from "./prepared.js"
import type { Dialect, DialectName } from "./dialect.js"
import type { StatementError } from "../storage/persistence.js"
import { decodeIds, decodeJobIds, decodeJobRows, type JobRow } from "./rows.js"

/**
 * Claims up to `limit` jobs, in claim order. The first `startNow` of them (all by default) are recorded as
 * started by the claim itself (the worker starts them at once); the rest are claimed ahead, and recorded as
 * started when they start.
 */
export type Claim = (
  queue: string | undefined,
  limit: number,
  processId: number,
  now: number,
  startNow?: number
) => Effect.Effect<ReadonlyArray<JobRow>, StatementError>

/** What every dialect's claim is built from. */
interface Parts {
  readonly sql: SqlClient.SqlClient
  readonly dialect: Dialect
  /** `WHERE ...` for the queue (all of them when `undefined`), or nothing. */
  readonly where: (queue: string | undefined) => Statement.Fragment
  readonly order: Statement.Fragment
  /** The jobs claimed, read back in claim order. */
  readonly selectJobs: (ids: ReadonlyArray<number>) => Effect.Effect<ReadonlyArray<JobRow>, StatementError>
  /** Records claims of jobs in claim order, the first `startNow` as started now. */
  readonly insertClaims: (
    jobIds: ReadonlyArray<number>,
    processId: number,
    now: number,
    startNow: number
  ) => Effect.Effect<unknown, StatementError>
}

interface DialectClaim {
  /**
   * Whether the claim statement itself leaves paused queues alone. PostgreSQL and SQLite check the pauses table
   * inside the claim; MySQL/MariaDB do not (a locking read there may lock or skip rows of a subquery), so their
   * workers read the pauses first.
   */
  readonly guardsPauses: boolean
  /** The claim, every argument given. */
  readonly make: (parts: Parts) => (...args: Required<Parameters<Claim>>) => ReturnType<Claim>
}

/**
 * PostgreSQL: one round trip, locking, moving and reading back in a single statement, prepared once per
 * connection. The id arrays keep both the delete and the read on primary keys whatever the planner's statistics
 * say (a join may turn into full scans).
 * A single queue's rows are picked by `steady_queue_ready_of_queue` (migration 0009), which walks its index
 * whatever the statistics say. The claim's commit does not wait for its WAL to reach disk (`synchronous_commit =
 * off` for this transaction only): a claim lost in a server crash leaves its jobs ready, which at-least-once
 * delivery allows, and any later write of the worker that commits (a finish, say) makes the claim durable with it,
 * the WAL being written in order.
 */
const pg: DialectClaim = {
  guardsPauses: true,
  make: ({ order, sql, where }) => (queue, limit, processId, now, startNow) =>
    sql`${sql.literal(prepared)} WITH async_commit AS (SELECT set_config('synchronous_commit', 'off', true)), picked AS (${
      queue === undefined
        ? sql`SELECT id, job_id FROM steady_queue_ready_executions ${where(queue)} ${order} LIMIT ${Math.max(0, limit)} FOR UPDATE SKIP LOCKED`
        : sql`SELECT id, job_id FROM steady_queue_ready_of_queue(${queue}, ${Math.max(0, limit)})`
    }), moved AS (
          DELETE FROM steady_queue_ready_executions r WHERE r.id = ANY(ARRAY(SELECT id FROM picked))
          RETURNING r.job_id, r.priority
        ), claimed AS (
          INSERT INTO steady_queue_claimed_executions (job_id, process_id, created_at, started_at)
          SELECT job_id, ${processId}, ${now},
                 CASE WHEN row_number() OVER (ORDER BY priority DESC, job_id) <= ${startNow} THEN ${now}::int8 END
          FROM moved RETURNING job_id
        )
        SELECT j.id, j.public_id, j.queue_name, j.task_name, j.arguments, j.priority, j.attempts,
               j.scheduled_at, j.created_at, j.concurrency_key, j.concurrency_limit, j.concurrency_duration
        FROM steady_queue_jobs j, async_commit
        WHERE j.id = ANY(ARRAY(SELECT job_id FROM claimed))
        ORDER BY j.priority DESC, j.id ASC`.pipe(Effect.flatMap(decodeJobRows))
}

/** SQLite: no row locks; the skip-locked select deletes first, so the transaction holds the write lock. */
const sqlite: DialectClaim = {
  guardsPauses: true,
  make: ({ dialect, insertClaims, order, selectJobs, sql, where }) => (queue, limit, processId, now, startNow) =>
    sql.withTransaction(Effect.gen(function*() {
      const ids = yield* decodeJobIds(
        yield* dialect.takeSkipLocked({ table: "steady_queue_ready_executions", columns: "job_id", where: where(queue), order, limit })
      )
      if (ids.length === 0) return []
      // Read first: the claims are recorded in claim order, which is the order the rows are read in.
      const rows = yield* selectJobs(ids)
      yield* insertClaims(rows.map((r) => r.id), processId, now, startNow)
      return rows
    }))
}

/** MySQL/MariaDB: lock the rows, record the claims, then delete the ready rows by primary key. */
const mysql: DialectClaim = {
  guardsPauses: false,
  make: ({ dialect, insertClaims, order, selectJobs, sql, where }) => (queue, limit, processId, now, startNow) =>
    sql.withTransaction(Effect.gen(function*() {
      const picked = yield* sql<{ readonly id: unknown; readonly job_id: unknown }>`
        SELECT id, job_id FROM steady_queue_ready_executions ${where(queue)}
        ${order} ${dialect.limit(limit)} FOR UPDATE SKIP LOCKED`
      if (picked.length === 0) return [] as ReadonlyArray<JobRow>
      const rowIds = yield* decodeIds(picked)
      const jobIds = yield* decodeJobIds(picked)
      // Read back inside the transaction: a failed read then rolls the claim back instead of stranding it.
      const rows = yield* selectJobs(jobIds)
      yield* insertClaims(rows.map((r) => r.id), processId, now, startNow)
      // By primary key, in one statement, whatever the planner thinks of the table: no other row gets locked.
      yield* dialect.deleteByIds("steady_queue_ready_executions", rowIds)
      return rows
    }))
}

const claims: Record<DialectName, DialectClaim> = { pg, sqlite, mysql, mariadb: mysql }

export const claimGuardsPauses = (dialect: Dialect) => claims[dialect.name].guardsPauses

export const makeClaim = (sql: SqlClient.SqlClient, dialect: Dialect): Claim => {
  // `undefined` is the all-queues query; a name is the single-queue one. Both are served by an index.
  // The pause guard on the all-queues query is a constant: with any queue paused it claims nothing.
  const { guardsPauses, make } = claims[dialect.name]
  const where = (queue: string | undefined) =>
    queue === undefined
      ? guardsPauses ? sql`WHERE NOT EXISTS (SELECT 1 FROM steady_queue_pauses)` : sql``
      : guardsPauses
      ? sql`WHERE queue_name = ${queue} AND NOT EXISTS (SELECT 1 FROM steady_queue_pauses p WHERE p.queue_name = ${queue})`
      : sql`WHERE queue_name = ${queue}`

  const selectJobs = (ids: ReadonlyArray<number>) =>
    ids.length === 0
      ? Effect.succeed([] as ReadonlyArray<JobRow>)
      : sql`SELECT id, public_id, queue_name, task_name, arguments, priority, attempts, scheduled_at, created_at,
                   concurrency_key, concurrency_limit, concurrency_duration
            FROM steady_queue_jobs WHERE ${sql.in("id", ids)} ORDER BY priority DESC, id ASC`.pipe(
        Effect.flatMap(decodeJobRows)
      )

  const insertClaims = (jobIds: ReadonlyArray<number>, processId: number, now: number, startNow: number) =>
    sql`INSERT INTO steady_queue_claimed_executions ${
      sql.insert(jobIds.map((job_id, i) => ({ job_id, process_id: processId, created_at: now, started_at: i < startNow ? now : null })))
    }`.unprepared

  const claim = make({ sql, dialect, where, order: sql.literal("ORDER BY priority DESC, job_id ASC"), selectJobs, insertClaims })
  // A claim that loses a deadlock changed nothing: it runs again instead of failing the poll.
  const retrying = retryLockConflicts("a claim")
  return (queue, limit, processId, now, startNow = limit) => retrying(claim(queue, limit, processId, now, startNow))
}
