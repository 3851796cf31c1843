/**
 * Claimed executions: ending a claim (finish, fail, release), fenced by the process that holds it, and which
 * claims a process still holds.
 */
import type { Effect } from "effect"
import type { PersistenceError } from "../../Errors.js"
import type { Slot } from "./Semaphores.js"

type Ids = ReadonlyArray<number>

/** A claimed job being ended, with the semaphore slot it holds (read when it was claimed). */
export interface Ending {
  readonly id: number
  readonly concurrency: Slot | null
}

export interface ClaimedStorage {
  /** Finishes the jobs `processId` still holds (kept as finished with `preserve`, deleted otherwise); returns their ids. */
  readonly finish: (jobs: ReadonlyArray<Ending>, processId: number, now: number, preserve: boolean) => Effect.Effect<Ids, PersistenceError>
  /** Records the failure if `processId` still holds the job; returns whether it did. */
  readonly fail: (job: Ending, processId: number, error: string, now: number) => Effect.Effect<boolean, PersistenceError>
  /** Puts jobs `processId` holds back in ready (all of them when `jobIds` is undefined); returns their ids. */
  readonly release: (jobIds: Ids | undefined, processId: number, now: number) => Effect.Effect<Ids, PersistenceError>
  /** Fails every claim of a process that is gone, giving their slots back; returns the job ids. */
  readonly failAll: (processId: number, error: string, now: number) => Effect.Effect<Ids, PersistenceError>
}

export interface OwnershipStorage {
  /** The ids of the jobs `processId` holds. */
  readonly claimedBy: (processId: number) => Effect.Effect<Ids, PersistenceError>
}
