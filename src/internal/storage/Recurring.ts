/**
 * Recurring tasks (static ones from code, dynamic ones added at run time) and the record of their runs.
 */
import type { Effect } from "effect"
import type { RecurringTask } from "../../Domain.js"
import type { PersistenceError } from "../../Errors.js"

export interface RecurringStorage {
  readonly all: Effect.Effect<ReadonlyArray<RecurringTask>, PersistenceError>
  readonly upsert: (task: RecurringTask, now: number) => Effect.Effect<void, PersistenceError>
  /** Upserts the static tasks and deletes static rows no longer in code, in one transaction. */
  readonly syncStatic: (tasks: ReadonlyArray<RecurringTask>, now: number) => Effect.Effect<void, PersistenceError>
  readonly remove: (key: string) => Effect.Effect<void, PersistenceError>
  /** Records a run; fails when another process recorded it first (then `runExists`). */
  readonly recordRun: (key: string, runAt: number, jobId: number, now: number) => Effect.Effect<void, PersistenceError>
  readonly runExists: (key: string, runAt: number) => Effect.Effect<boolean, PersistenceError>
}
