/**
 * Failed executions, and the operator's actions that end them: retry, and discard (of a job in any state a worker
 * does not hold).
 */
import type { Effect } from "effect"
import type { DiscardableState } from "../../Domain.js"
import type { PersistenceError } from "../../Errors.js"

type Ids = ReadonlyArray<number>

export interface FailedStorage {
  /** Moves failed jobs back through dispatch; returns the ids retried. */
  readonly retry: (jobIds: Ids, now: number) => Effect.Effect<Ids, PersistenceError>
  /**
   * Deletes jobs, unless a worker holds them (or, with `state`, unless they left that state); returns how many
   * were deleted.
   */
  readonly discard: (jobIds: Ids, now: number, state?: DiscardableState) => Effect.Effect<number, PersistenceError>
  /** The ids of the oldest failed jobs, up to `size`. */
  readonly nextFailedBatch: (size: number) => Effect.Effect<Ids, PersistenceError>
}
