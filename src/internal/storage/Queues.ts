/**
 * Queues: pauses, the names a worker's selector expands to, and sizes for operators.
 */
import type { Effect } from "effect"
import type { PersistenceError } from "../../Errors.js"

export interface QueueRow {
  readonly name: string
  /** Ready jobs. */
  readonly size: number
  /** When the oldest ready job became ready; null when there is none. */
  readonly oldest: number | null
  readonly paused: boolean
}

export interface QueueStorage {
  /** Paused queue names, in order. */
  readonly paused: Effect.Effect<ReadonlyArray<string>, PersistenceError>
  readonly pause: (queue: string, now: number) => Effect.Effect<void, PersistenceError>
  readonly resume: (queue: string) => Effect.Effect<void, PersistenceError>
  /** Distinct queue names with ready jobs, optionally only those starting with `prefix`. */
  readonly readyQueueNames: (prefix: string | undefined) => Effect.Effect<ReadonlyArray<string>, PersistenceError>
  /** Queues with ready jobs, and paused queues, by name. */
  readonly list: Effect.Effect<ReadonlyArray<QueueRow>, PersistenceError>
}
