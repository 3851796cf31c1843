/**
 * Ending a claim: finish, fail or release. Every path first takes the claim rows that still belong to the
 * calling process (fencing): a process that was pruned while it slept finds nothing to take, and changes nothing.
 */
import type { SqlClient, SqlError } from "@effect/sql"
import { Effect } from "effect"
import type { DialectInfo } from "./dialect.js"
import { decodeIdRows, decodeJobIdRows } from "./rows.js"

type Ids = ReadonlyArray<number>

export const makeClaimed = (sql: SqlClient.SqlClient, info: DialectInfo) => {
  const owned = (jobIds: Ids | undefined, processId: number) =>
    jobIds === undefined
      ? sql`process_id = ${processId}`
      : info.dialect === "pg"
      ? // One array parameter keeps the statement text the same whatever the batch size.
        sql`job_id = ANY(${jobIds}::int8[]) AND process_id = ${processId}`
      : sql`${sql.in("job_id", jobIds)} AND process_id = ${processId}`

  /** Deletes this process's claims on the given jobs (all of them when `undefined`); returns the job ids taken. */
  const take = (jobIds: Ids | undefined, processId: number): Effect.Effect<Ids, SqlError.SqlError> => {
    if (jobIds !== undefined && jobIds.length === 0) return Effect.succeed([])
    if (info.dialect === "mysql" && !info.insertReturning) {
      // MySQL proper has no DELETE ... RETURNING: lock the rows, then delete them by primary key.
      return Effect.gen(function*() {
        const rows = yield* sql`SELECT id, job_id FROM steady_queue_claimed_executions
                                WHERE ${owned(jobIds, processId)} ORDER BY id FOR UPDATE`
        if (rows.length === 0) return []
        yield* sql`DELETE FROM steady_queue_claimed_executions WHERE ${sql.in("id", decodeIdRows(rows).map((r) => r.id))}`
          .unprepared
        return decodeJobIdRows(rows).map((r) => r.job_id)
      })
    }
    return sql`DELETE FROM steady_queue_claimed_executions WHERE ${owned(jobIds, processId)} RETURNING job_id`.pipe(
      Effect.map((rows) => decodeJobIdRows(rows).map((r) => r.job_id))
    )
  }

  const markFinished = (jobIds: Ids, now: number, preserve: boolean) =>
    jobIds.length === 0
      ? Effect.void
      : preserve
      ? sql`UPDATE steady_queue_jobs SET finished_at = ${now}, updated_at = ${now} WHERE ${sql.in("id", jobIds)}`
        .unprepared
      : sql`DELETE FROM steady_queue_jobs WHERE ${sql.in("id", jobIds)}`.unprepared

  /** Finishes the jobs this process still owns; returns the ids it finished. */
  const finish = (jobIds: Ids, processId: number, now: number, preserve: boolean): Effect.Effect<Ids, SqlError.SqlError> =>
    info.dialect === "pg" && preserve
      ? // One round trip on the hot path.
        sql`WITH taken AS (
              DELETE FROM steady_queue_claimed_executions WHERE ${owned(jobIds, processId)} RETURNING job_id
            )
            UPDATE steady_queue_jobs j SET finished_at = ${now}, updated_at = ${now}
            FROM taken WHERE j.id = taken.job_id RETURNING j.id`.pipe(
          Effect.map((rows) => decodeIdRows(rows).map((r) => r.id))
        )
      : sql.withTransaction(
        Effect.tap(take(jobIds, processId), (taken) => markFinished(taken, now, preserve))
      )

  /** Records the failure if this process still owns the claim; returns whether it did. */
  const fail = (jobId: number, processId: number, error: string, now: number) =>
    sql.withTransaction(Effect.gen(function*() {
      const taken = yield* take([jobId], processId)
      if (taken.length === 0) return false
      yield* insertFailed(taken, error, now, processId)
      return true
    }))

  /** The failure remembers the process it happened on, for operators. */
  const insertFailed = (jobIds: Ids, error: string, now: number, processId: number) =>
    sql`INSERT INTO steady_queue_failed_executions ${
      sql.insert(jobIds.map((job_id) => ({ job_id, error, process_id: processId, created_at: now })))
    }`.unprepared

  /** Puts claimed jobs back in ready (all of the process's claims when `jobIds` is undefined). */
  const release = (jobIds: Ids | undefined, processId: number, now: number) =>
    sql.withTransaction(Effect.gen(function*() {
      const taken = yield* take(jobIds, processId)
      if (taken.length === 0) return taken
      yield* sql`INSERT INTO steady_queue_ready_executions (job_id, queue_name, priority, created_at)
                 SELECT id, queue_name, priority, ${now} FROM steady_queue_jobs WHERE ${sql.in("id", taken)}`.unprepared
      return taken
    }))

  /** Fails every claim of a process that is gone (pruned, or exited without being told to). */
  const failAll = (processId: number, error: string, now: number) =>
    sql.withTransaction(Effect.gen(function*() {
      const taken = yield* take(undefined, processId)
      if (taken.length > 0) yield* insertFailed(taken, error, now, processId)
      return taken
    }))

  return { take, finish, fail, release, failAll } as const
}
