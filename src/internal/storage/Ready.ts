/**
 * Ready executions, as workers take them: a claim moves them to claimed for one process.
 */
import type { Effect } from "effect"
import type { PersistenceError } from "../../Errors.js"

/** A claimed job, as its worker needs it to run it. */
export interface JobRow {
  readonly id: number
  readonly public_id: string
  readonly queue_name: string
  readonly task_name: string
  readonly arguments: string
  readonly priority: number
  readonly attempts: number
  readonly scheduled_at: number
  readonly created_at: number
  readonly concurrency_key: string | null
  readonly concurrency_limit: number | null
  readonly concurrency_duration: number | null
}

export interface ReadyStorage {
  /**
   * Moves up to `limit` ready jobs of `queue` (of every queue when undefined), highest priority first, to claimed
   * by `processId`; returns them in that order. The first `startNow` (all by default) are recorded as started;
   * the others are claimed ahead (the worker's prefetch buffer) and recorded as started when they start.
   */
  readonly claim: (
    queue: string | undefined,
    limit: number,
    processId: number,
    now: number,
    startNow?: number
  ) => Effect.Effect<ReadonlyArray<JobRow>, PersistenceError>
  /** Whether `claim` itself leaves paused queues alone; where it does not, workers read the pauses first. */
  readonly claimGuardsPauses: boolean
}
