/**
 * Clearing finished jobs in batches, so a large backlog never turns into one long lock.
 */
import type { Effect } from "effect"
import type { PersistenceError } from "../../Errors.js"

export interface RetentionStorage {
  /** Deletes jobs finished before `before`, `batchSize` at a time; returns how many. */
  readonly clearFinished: (before: number, batchSize: number) => Effect.Effect<number, PersistenceError>
}
