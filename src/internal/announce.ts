/**
 * Telling this process about jobs it has just enqueued: an `Enqueued` event for each, then one ring of the
 * wake-up, so idle workers and dispatchers here look now instead of at their next poll. Call it after the insert
 * (and its transaction) has succeeded.
 */
import { Effect } from "effect"
import type { EnqueuedJob } from "../Domain.js"
import { JobEvent, type JobEventsService } from "../JobEvents.js"
import type { InsertedJob } from "./Storage.js"
import type { WakeupService } from "./Wakeup.js"

export const toEnqueuedJob = (job: InsertedJob): EnqueuedJob => ({
  id: job.id,
  publicId: job.publicId,
  taskName: job.taskName,
  queueName: job.queueName,
  priority: job.priority,
  scheduledAt: new Date(job.scheduledAt)
})

/** Announces the jobs (nothing at all for none); returns them as `EnqueuedJob`s, in order. */
export const announceEnqueued = (
  events: JobEventsService,
  wakeup: WakeupService,
  inserted: ReadonlyArray<InsertedJob>
): Effect.Effect<ReadonlyArray<EnqueuedJob>> => {
  if (inserted.length === 0) return Effect.succeed([])
  const enqueued = inserted.map(toEnqueuedJob)
  // Lazily: the events are made only if someone listens.
  return events.publishAll({
    *[Symbol.iterator]() {
      for (const job of enqueued) yield JobEvent.Enqueued({ job })
    }
  }).pipe(
    Effect.zipRight(wakeup.ring),
    Effect.as(enqueued)
  )
}
