/**
 * The supervisor's maintenance: processes that stopped heartbeating are pruned and their claimed jobs failed
 * with `ProcessPrunedError`; claims whose process row is gone fail with `ProcessMissingError`. Failed jobs stay
 * retryable.
 */
import { Clock, Duration, Effect } from "effect"
import { ProcessExitError, ProcessMissingError, ProcessPrunedError } from "../Errors.js"
import { JobError } from "../JobError.js"
import { signalSemaphores } from "./Semaphore.js"
import { Store } from "./Store.js"

const stored = (error: ProcessPrunedError | ProcessMissingError | ProcessExitError) =>
  JobError.encodeJson(JobError.fromUnknown(error))

/** Fails a process's claims with `error` and deletes its row, in one transaction. */
export const failProcess = (processId: number, error: ProcessPrunedError | ProcessMissingError | ProcessExitError) =>
  Effect.gen(function*() {
    const store = yield* Store
    const now = yield* Clock.currentTimeMillis
    const failed = yield* store.withTransaction(
      Effect.zipLeft(store.claimed.failAll(processId, stored(error), now), store.processes.deregister(processId))
    )
    // Their semaphore slots come back now, not only when the semaphores expire.
    const limits = yield* store.semaphores.limitsOf(failed)
    yield* signalSemaphores(store, limits.map((concurrency) => ({ concurrency })))
    return failed
  })

export const pruneDeadProcesses = (aliveThreshold: Duration.DurationInput, self: number) =>
  Effect.gen(function*() {
    const store = yield* Store
    const now = yield* Clock.currentTimeMillis
    const expired = (yield* store.processes.expired(now - Duration.toMillis(aliveThreshold))).filter((id) => id !== self)
    let failed = 0
    for (const id of expired) {
      const jobs = yield* failProcess(id, new ProcessPrunedError({
        processId: id,
        message: `process ${id} sent no heartbeat for longer than ${Duration.format(aliveThreshold)} and was pruned`
      }))
      failed += jobs.length
    }
    for (const id of yield* store.processes.orphanedClaimOwners) {
      const jobs = yield* failProcess(id, new ProcessMissingError({
        processId: id,
        message: `process ${id}, which had claimed this job, is no longer registered`
      }))
      failed += jobs.length
    }
    if (expired.length > 0 || failed > 0) {
      yield* Effect.logWarning(`steady-queue: pruned ${expired.length} dead process(es); ${failed} claimed job(s) failed`)
    }
    return { pruned: expired, failedJobs: failed }
  })
