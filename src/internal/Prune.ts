/**
 * The supervisor's maintenance: processes that stopped heartbeating are pruned and their claimed jobs failed
 * with `ProcessPrunedError`; claims whose process row is gone fail with `ProcessMissingError`. Failed jobs stay
 * retryable.
 */
import { Clock, Duration, Effect } from "effect"
import { ProcessExitError, ProcessMissingError, ProcessPrunedError } from "../Errors.js"
import { JobError } from "../JobError.js"
import { Store } from "./Store.js"

/** Keys whose blocked jobs one pruning run releases, at most. */
const releaseBatch = 500

const stored = (error: ProcessPrunedError | ProcessMissingError | ProcessExitError) =>
  JobError.encodeJson(JobError.fromUnknown(error))

/**
 * Fails a process's claims with `error` and deletes its row, in one transaction, which also gives the jobs'
 * semaphore slots back (to the next blocked jobs of their keys).
 */
export const failProcess = (processId: number, error: ProcessPrunedError | ProcessMissingError | ProcessExitError) =>
  Effect.gen(function*() {
    const store = yield* Store
    const now = yield* Clock.currentTimeMillis
    return yield* store.withTransaction(
      Effect.zipLeft(store.claimed.failAll(processId, stored(error), now), store.processes.deregister(processId))
    )
  })

/** One pruning run, a `steady-queue.prune` span. */
export const pruneDeadProcesses = Effect.fn("steady-queue.prune")(
  function*(aliveThreshold: Duration.DurationInput, self: number) {
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
    // Blocked jobs whose key has a free slot (left by an older version, or an operator's edit) run now.
    const released = yield* store.semaphores.releaseFree(yield* Clock.currentTimeMillis, releaseBatch)
    if (released > 0) yield* Effect.logInfo(`steady-queue: released ${released} blocked job(s) whose key had a free slot`)
    yield* Effect.annotateCurrentSpan({ pruned: expired.length, failedJobs: failed })
    return { pruned: expired, failedJobs: failed }
  }
)
