/**
 * Scheduled executions: due ones become ready (or blocked on their semaphore), a batch at a time.
 */
import type { Effect } from "effect"
import type { PersistenceError } from "../../Errors.js"

/** A due scheduled execution that was moved on. */
export interface DueExecution {
  readonly id: number
  readonly job_id: number
  readonly queue_name: string
  readonly priority: number
}

export interface ScheduledStorage {
  /** Moves up to `batchSize` due jobs on; returns them (so the caller knows whether to go again). */
  readonly due: (batchSize: number, now: number) => Effect.Effect<ReadonlyArray<DueExecution>, PersistenceError>
  /** Makes scheduled jobs due now and moves them on; returns the job ids moved. */
  readonly now: (jobIds: ReadonlyArray<number>, now: number) => Effect.Effect<ReadonlyArray<number>, PersistenceError>
}
