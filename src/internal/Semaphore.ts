/**
 * Signalling after a job ends: called with the jobs whose claim this process still owned (so at most once per
 * job, fenced), after their outcome is committed. A failed signal is logged: the semaphore's expiry and the
 * dispatcher's maintenance recover the slot.
 */
import { Clock, Effect } from "effect"
import type { JobDescription } from "../CurrentJob.js"
import { writeRetry } from "./ProcessRow.js"
import type { Store } from "./Store.js"

export const signalSemaphores = (
  store: Store["Type"],
  jobs: ReadonlyArray<Pick<JobDescription, "concurrency">>
): Effect.Effect<void> => {
  const limited = jobs.flatMap((j) => (j.concurrency === null ? [] : [j.concurrency]))
  if (limited.length === 0) return Effect.void
  return Effect.flatMap(Clock.currentTimeMillis, (now) => store.semaphores.signal(limited, now)).pipe(
    Effect.retry(writeRetry),
    Effect.catchAll((e) => Effect.logWarning("steady-queue: could not signal a concurrency semaphore", e))
  )
}
