/**
 * The storage contract: everything steady-queue reads and writes, one interface per concern, in the nouns of
 * `Domain.ts` and with small row types where callers need the rows as stored. Every effect fails with
 * `PersistenceError` only: the SQL layer's own errors (a failed statement, a row of an unexpected shape) are
 * mapped where it is assembled (`Store.ts`), so no driver error travels past it.
 */
import type { Effect } from "effect"
import type { PersistenceError } from "../Errors.js"
import type { CancelStorage } from "./storage/Cancel.js"
import type { ClaimedStorage, OwnershipStorage } from "./storage/Claimed.js"
import type { EnqueueStorage } from "./storage/Enqueue.js"
import type { FailedStorage } from "./storage/Failed.js"
import type { JobStorage, ListingStorage } from "./storage/Listing.js"
import type { OverviewStorage } from "./storage/Overview.js"
import type { ProcessStorage } from "./storage/Processes.js"
import type { QueueStorage } from "./storage/Queues.js"
import type { ReadyStorage } from "./storage/Ready.js"
import type { RecurringStorage } from "./storage/Recurring.js"
import type { RetentionStorage } from "./storage/Retention.js"
import type { ScheduledStorage } from "./storage/Scheduled.js"
import type { SemaphoreStorage } from "./storage/Semaphores.js"

export type { CancelResult, CancelStorage } from "./storage/Cancel.js"
export type { AttemptEnd, AttemptEnding, ClaimedStorage, Ending, Finishing, OwnershipStorage, Started } from "./storage/Claimed.js"
export type { EnqueueStorage, InsertedJob, NewJob } from "./storage/Enqueue.js"
export type { FailedStorage } from "./storage/Failed.js"
export type { AttemptRow, JobStorage, JobWithStateRow, ListedJobRow, ListFilter, ListingStorage } from "./storage/Listing.js"
export type { LastRunRow, MinuteCountRow, OverviewStorage, ProcessOverviewRow } from "./storage/Overview.js"
export type { NewProcess, ProcessStorage } from "./storage/Processes.js"
export type { QueueRow, QueueStorage } from "./storage/Queues.js"
export type { JobRow, ReadyStorage } from "./storage/Ready.js"
export type { RecurringStorage } from "./storage/Recurring.js"
export type { RetentionStorage } from "./storage/Retention.js"
export type { DueExecution, ScheduledStorage } from "./storage/Scheduled.js"
export type { SemaphoreStorage, Slot } from "./storage/Semaphores.js"

export interface Storage extends EnqueueStorage, ReadyStorage, RetentionStorage {
  readonly claimed: ClaimedStorage
  readonly cancellation: CancelStorage
  readonly ownership: OwnershipStorage
  readonly scheduled: ScheduledStorage
  readonly failed: FailedStorage
  readonly semaphores: SemaphoreStorage
  readonly processes: ProcessStorage
  readonly recurring: RecurringStorage
  readonly listing: ListingStorage
  readonly jobs: JobStorage
  readonly overview: OverviewStorage
  readonly queues: QueueStorage
  /**
   * Runs `effect` in the store's own transaction (the store's effects inside it join it). A failure of `effect`
   * rolls it back and comes out as it is; a failure to begin or commit is a `PersistenceError`.
   */
  readonly withTransaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | PersistenceError, R>
}
