/**
 * Cancelling jobs: at once when they wait, by asking their worker when they run.
 */
import type { Effect } from "effect"
import type { PersistenceError } from "../../Errors.js"

/**
 * What a cancel did: the job waited and is cancelled now; it runs and its worker is asked to stop it; it had
 * ended already; or there is no such job.
 */
export type CancelResult = "cancelled" | "requested" | "ended" | "missing"

export interface CancelStorage {
  readonly cancel: (jobId: number, now: number) => Effect.Effect<CancelResult, PersistenceError>
  /** The jobs `processId` holds that were asked to cancel. */
  readonly requestedOf: (processId: number) => Effect.Effect<ReadonlyArray<number>, PersistenceError>
}
