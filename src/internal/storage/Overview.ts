/**
 * The operator's overview: processes with the jobs they hold, recurring runs, jobs per state (counted up to a
 * cap) and jobs finished and failed per minute.
 */
import type { Effect } from "effect"
import type { JobState } from "../../Domain.js"
import type { PersistenceError } from "../../Errors.js"

/** A registered process with the number of jobs it holds. */
export interface ProcessOverviewRow {
  readonly id: number
  readonly kind: string
  readonly name: string
  readonly pid: number
  readonly hostname: string | null
  readonly supervisor_id: number | null
  readonly metadata: string | null
  readonly last_heartbeat_at: number
  readonly created_at: number
  readonly in_progress: number
}

export interface LastRunRow {
  readonly task_key: string
  readonly last_run: number
}

/** Jobs counted per minute since the epoch. */
export interface MinuteCountRow {
  readonly minute: number
  readonly n: number
}

export interface OverviewStorage {
  readonly processes: Effect.Effect<ReadonlyArray<ProcessOverviewRow>, PersistenceError>
  /** The latest run of each recurring task that still has its job. */
  readonly lastRuns: Effect.Effect<ReadonlyArray<LastRunRow>, PersistenceError>
  /** How many jobs are in a state, counting no further than `cap`. */
  readonly countUpTo: (state: JobState, cap: number) => Effect.Effect<number, PersistenceError>
  readonly finishedPerMinute: (since: number) => Effect.Effect<ReadonlyArray<MinuteCountRow>, PersistenceError>
  readonly failedPerMinute: (since: number) => Effect.Effect<ReadonlyArray<MinuteCountRow>, PersistenceError>
}
