/**
 * Concurrency semaphores and the blocked executions waiting on them. Jobs enter and leave blocked only through
 * their semaphore, inside the transaction that dispatches or ends a job; what is left to call from outside is
 * the maintenance that releases blocked jobs of keys with a free slot.
 */
import type { Effect } from "effect"
import type { PersistenceError } from "../../Errors.js"

/** A job's concurrency control, as a slot of its key's semaphore. */
export interface Slot {
  readonly key: string
  readonly limit: number
}

export interface SemaphoreStorage {
  /** Releases the blocked jobs of up to `n` keys that have a free slot; returns how many jobs it released. */
  readonly releaseFree: (now: number, n: number) => Effect.Effect<number, PersistenceError>
  /** Releases blocked jobs of keys with a free slot, then drops expired semaphores nobody waits on; returns the jobs released. */
  readonly maintain: (now: number, batchSize: number) => Effect.Effect<number, PersistenceError>
}
