/**
 * Writing new jobs, each with the execution it starts in: ready, scheduled, or blocked on its semaphore.
 */
import type { Effect } from "effect"
import type { PersistenceError } from "../../Errors.js"

/** A job to write, validated and encoded. */
export interface NewJob {
  readonly publicId: string
  readonly queueName: string
  readonly taskName: string
  readonly arguments: string
  readonly priority: number
  readonly scheduledAt: number
  readonly concurrencyKey: string | null
  readonly concurrencyLimit: number | null
  readonly concurrencyDurationMs: number | null
  readonly timeoutMs: number | null
  readonly maxAttempts: number | null
}

/** A job as written, with the id the database gave it. */
export interface InsertedJob extends NewJob {
  readonly id: number
}

export interface EnqueueStorage {
  /** Writes the jobs with their executions, atomically (joining the caller's transaction if there is one). */
  readonly enqueue: (jobs: ReadonlyArray<NewJob>, now: number) => Effect.Effect<ReadonlyArray<InsertedJob>, PersistenceError>
}
