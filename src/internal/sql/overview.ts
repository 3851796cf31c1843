/**
 * The operator's overview: processes with the jobs they hold, recurring runs, jobs per state (counted up to a
 * cap, never the whole table) and jobs finished and failed per minute.
 */
import type { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import type { Dialect } from "./dialect.js"
import type { JobState } from "../../Domain.js"
import { DbInt, DbNullableInt } from "./rows.js"

const ProcessRow = Schema.Struct({
  id: DbInt,
  kind: Schema.String,
  name: Schema.String,
  pid: DbInt,
  hostname: Schema.NullOr(Schema.String),
  supervisor_id: DbNullableInt,
  metadata: Schema.NullOr(Schema.String),
  last_heartbeat_at: DbInt,
  created_at: DbInt,
  in_progress: DbInt
})
const LastRunRow = Schema.Struct({ task_key: Schema.String, last_run: DbInt })
const CountRow = Schema.Struct({ n: DbInt })
const decodeCounts = Schema.decodeUnknown(Schema.Array(CountRow))
const MinuteRow = Schema.Struct({ minute: DbInt, n: DbInt })

const stateSource: Record<JobState, string> = {
  ready: "SELECT 1 FROM steady_queue_ready_executions",
  scheduled: "SELECT 1 FROM steady_queue_scheduled_executions",
  claimed: "SELECT 1 FROM steady_queue_claimed_executions",
  blocked: "SELECT 1 FROM steady_queue_blocked_executions",
  failed: "SELECT 1 FROM steady_queue_failed_executions",
  finished: `SELECT 1 FROM steady_queue_jobs j WHERE j.finished_at IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM steady_queue_cancelled_executions x WHERE x.job_id = j.id)`,
  cancelled: "SELECT 1 FROM steady_queue_cancelled_executions"
}

export const makeOverview = (sql: SqlClient.SqlClient, dialect: Dialect) => {
  const minuteOf = (column: string) => dialect.timeBucket(column, 60_000)

  const perMinute = Schema.decodeUnknown(Schema.Array(MinuteRow))

  return {
    processes: sql`SELECT p.id, p.kind, p.name, p.pid, p.hostname, p.supervisor_id, p.metadata, p.last_heartbeat_at,
                          p.created_at,
                          (SELECT COUNT(*) FROM steady_queue_claimed_executions c WHERE c.process_id = p.id) AS in_progress
                   FROM steady_queue_processes p ORDER BY p.supervisor_id IS NOT NULL, p.supervisor_id, p.kind, p.id`.pipe(
      Effect.flatMap(Schema.decodeUnknown(Schema.Array(ProcessRow)))
    ),
    /** The latest run of each recurring task that still has its job. */
    lastRuns: sql`SELECT task_key, MAX(run_at) AS last_run FROM steady_queue_recurring_executions GROUP BY task_key`.pipe(
      Effect.flatMap(Schema.decodeUnknown(Schema.Array(LastRunRow)))
    ),
    /** How many jobs are in a state, counting no further than `cap`. */
    countUpTo: (state: JobState, cap: number) =>
      sql`SELECT COUNT(*) AS n FROM (${sql.literal(stateSource[state])} ${dialect.limit(cap)}) t`
        .pipe(Effect.flatMap(decodeCounts), Effect.map((rows) => rows[0]?.n ?? 0)),
    finishedPerMinute: (since: number) =>
      sql`SELECT ${minuteOf("finished_at")} AS minute, COUNT(*) AS n FROM steady_queue_jobs
          WHERE finished_at >= ${since} GROUP BY ${minuteOf("finished_at")}`.pipe(Effect.flatMap(perMinute)),
    failedPerMinute: (since: number) =>
      sql`SELECT ${minuteOf("created_at")} AS minute, COUNT(*) AS n FROM steady_queue_failed_executions
          WHERE created_at >= ${since} GROUP BY ${minuteOf("created_at")}`.pipe(Effect.flatMap(perMinute))
  } as const
}
