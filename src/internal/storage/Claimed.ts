/**
 * Claimed executions: ending a claim (finish, fail, release), fenced by the process that holds it, and which
 * claims a process still holds.
 */
import type { Effect } from "effect"
import type { PersistenceError } from "../../Errors.js"
import type { JobRow } from "./Ready.js"
import type { Slot } from "./Semaphores.js"

type Ids = ReadonlyArray<number>

/** A claimed job being ended, with the semaphore slot it holds (read when it was claimed). */
export interface Ending {
  readonly id: number
  readonly concurrency: Slot | null
  /** When this attempt started, as its worker saw it; null: as its claim records it. */
  readonly startedAt: number | null
}

/** A job claimed ahead that started: its claim records when. */
export interface Started {
  readonly id: number
  readonly startedAt: number
}

/** A job that succeeded, with its encoded result (null when its task has no `success` schema). */
export interface Finishing extends Ending {
  readonly result: string | null
}

/** An attempt that did not succeed, with what its job does next. */
export interface AttemptEnding extends Ending {
  readonly queueName: string
  readonly priority: number
  /** Which run this was: 1 for the first. */
  readonly attempt: number
  /** The error, as stored (`JobError`'s JSON). */
  readonly error: string
  /** When to run it again; null: it fails for good. */
  readonly retryAt: number | null
  /** The attempt was stopped by a cancel: the job ends cancelled. */
  readonly cancelled: boolean
}

/** How an attempt ended: as asked, cancelled instead (a cancel came first), or not at all (the claim was gone). */
export type AttemptEnd = "failed" | "retrying" | "cancelled" | "lost"

export interface ClaimedStorage {
  /**
   * Records that jobs claimed ahead started, and finishes the jobs `processId` still holds that succeeded,
   * storing their results (kept as finished with `preserve`, deleted otherwise), in one write (one statement on
   * PostgreSQL); returns the ids finished. Leave out of `started` the jobs that are finished in the same call.
   */
  readonly finish: (
    started: ReadonlyArray<Started>,
    jobs: ReadonlyArray<Finishing>,
    processId: number,
    now: number,
    preserve: boolean
  ) => Effect.Effect<Ids, PersistenceError>
  /** Ends an attempt that failed, timed out, expired or was cancelled, if `processId` still holds the job. */
  readonly endAttempt: (ending: AttemptEnding, processId: number, now: number) => Effect.Effect<AttemptEnd, PersistenceError>
  /** Puts jobs `processId` holds back in ready (all of them when `jobIds` is undefined); returns their ids. */
  readonly release: (jobIds: Ids | undefined, processId: number, now: number) => Effect.Effect<Ids, PersistenceError>
  /** Puts the claims of `processId` that never started back in ready (a process that is gone); returns their ids. */
  readonly releaseUnstarted: (processId: number, now: number) => Effect.Effect<Ids, PersistenceError>
  /** Fails every claim of a process that is gone, giving their slots back; returns the job ids. */
  readonly failAll: (processId: number, error: string, now: number) => Effect.Effect<Ids, PersistenceError>
}

export interface OwnershipStorage {
  /** The ids of the jobs `processId` holds. */
  readonly claimedBy: (processId: number) => Effect.Effect<Ids, PersistenceError>
  /** The jobs `processId` holds that started, as claimed. */
  readonly held: (processId: number) => Effect.Effect<ReadonlyArray<JobRow>, PersistenceError>
}
