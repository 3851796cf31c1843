/**
 * The supervisor's maintenance: processes that stopped heartbeating are pruned and their claimed jobs failed
 * with `ProcessPrunedError`; claims whose process row is gone fail with `ProcessMissingError`. Failed jobs stay
 * retryable.
 */
import { Clock, Duration, Effect, Option } from "effect"
import { ProcessExitError, ProcessMissingError, ProcessPrunedError } from "../Errors.js"
import { JobError } from "../JobError.js"
import { TaskRegistry } from "../TaskRegistry.js"
import * as RetryPolicy from "./RetryPolicy.js"
import type { AttemptEnding } from "./Storage.js"
import { Store } from "./Store.js"

/** Keys whose blocked jobs one pruning run releases, at most. */
const releaseBatch = 500

const stored = (error: ProcessPrunedError | ProcessMissingError | ProcessExitError) =>
  JobError.encodeJson(JobError.fromUnknown(error))

/**
 * Fails a process's claims with `error` and deletes its row, in one transaction, which also gives the jobs'
 * semaphore slots back (to the next blocked jobs of their keys). Claims it made ahead and never started go back
 * to ready instead: those jobs never ran.
 */
export const failProcess = (
  processId: number,
  error: ProcessPrunedError | ProcessMissingError | ProcessExitError,
  defaultRetry: RetryPolicy.RetryPolicy = RetryPolicy.never
) =>
  Effect.gen(function*() {
    const store = yield* Store
    const registry = yield* Effect.serviceOption(TaskRegistry)
    const now = yield* Clock.currentTimeMillis
    const held = yield* store.ownership.held(processId)
    // Each lost attempt follows its task's retry policy, as this process knows it (the configuration's default
    // for a task it has no handler for); one that was being cancelled ends cancelled.
    const endings = yield* Effect.forEach(held, (row) => {
      const handler = Option.flatMap(registry, (r) => Option.fromNullable(r.get(row.task_name)))
      const policy = Option.match(handler, { onNone: () => defaultRetry, onSome: (h) => h.retry ?? defaultRetry })
      return Effect.map(RetryPolicy.nextRunAt(policy, row.attempts + 1, error, now), (retryAt): AttemptEnding => ({
        id: row.id,
        concurrency: row.concurrency_key === null ? null : { key: row.concurrency_key, limit: row.concurrency_limit ?? 1 },
        queueName: row.queue_name,
        priority: row.priority,
        attempt: row.attempts + 1,
        startedAt: null,
        error: stored(error),
        retryAt: Option.getOrNull(retryAt),
        cancelled: false
      }))
    })
    return yield* store.withTransaction(Effect.gen(function*() {
      const unstarted = yield* store.claimed.releaseUnstarted(processId, now)
      if (unstarted.length > 0) {
        yield* Effect.logInfo(`steady-queue: ${unstarted.length} job(s) process ${processId} claimed ahead and never started went back to ready`)
      }
      const ended = yield* Effect.forEach(endings, (e) =>
        Effect.map(store.claimed.endAttempt(e, processId, now), (end) => (end === "lost" ? [] : [e.id])))
      // Claims made since the read: failed as they are.
      const rest = yield* store.claimed.failAll(processId, stored(error), now)
      yield* store.processes.deregister(processId)
      return [...ended.flat(), ...rest]
    }))
  })

/** One pruning run, a `steady-queue.prune` span. */
export const pruneDeadProcesses = Effect.fn("steady-queue.prune")(
  function*(aliveThreshold: Duration.DurationInput, self: number, defaultRetry: RetryPolicy.RetryPolicy = RetryPolicy.never) {
    const store = yield* Store
    const now = yield* Clock.currentTimeMillis
    const expired = (yield* store.processes.expired(now - Duration.toMillis(aliveThreshold))).filter((id) => id !== self)
    let failed = 0
    for (const id of expired) {
      const jobs = yield* failProcess(id, new ProcessPrunedError({
        processId: id,
        message: `process ${id} sent no heartbeat for longer than ${Duration.format(aliveThreshold)} and was pruned`
      }), defaultRetry)
      failed += jobs.length
    }
    for (const id of yield* store.processes.orphanedClaimOwners) {
      const jobs = yield* failProcess(id, new ProcessMissingError({
        processId: id,
        message: `process ${id}, which had claimed this job, is no longer registered`
      }), defaultRetry)
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
