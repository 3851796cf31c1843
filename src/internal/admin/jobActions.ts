/**
 * The operator's actions on jobs: retry, discard, run a scheduled job now, clear finished jobs. A job a worker
 * holds is never discarded; only failed jobs are retried.
 */
import { Clock, Duration, Effect, Option } from "effect"
import type { AdminService, ListOptions } from "../../Admin.js"
import {
  JobInProgressError,
  JobNotFailedError,
  JobNotFoundError,
  JobNotScheduledError,
  type PersistenceError
} from "../../Errors.js"
import { JobClient } from "../../JobClient.js"
import { defaults } from "../../QueueConfig.js"
import { Store } from "../Store.js"
import { Notices } from "../Notices.js"
import { Wakeup } from "../Wakeup.js"

export type JobActions = Pick<
  AdminService,
  | "retry"
  | "retryMany"
  | "retryAll"
  | "retryAllFailed"
  | "discard"
  | "discardMany"
  | "discardAll"
  | "discardAllFailed"
  | "runNow"
  | "cancel"
  | "clearFinishedJobs"
>

const inProgress = (id: number) => new JobInProgressError({ jobId: id, message: `job ${id} is in progress on a worker` })

const batch = 500

export const make = Effect.gen(function*() {
  const store = yield* Store
  const client = yield* JobClient
  const wakeup = yield* Wakeup
  const notices = yield* Notices

  const requireJob = (id: number) =>
    Effect.flatMap(client.find(id), Option.match({
      onNone: () => Effect.fail(new JobNotFoundError({ jobId: id, message: `job ${id} does not exist` })),
      onSome: Effect.succeed
    }))

  /** Applies `action` to the jobs of a listing, a batch at a time from the newest, until none is left. */
  const eachBatch = (
    options: ListOptions,
    action: (ids: ReadonlyArray<number>) => Effect.Effect<number, PersistenceError>
  ) =>
    Effect.gen(function*() {
      let total = 0
      let before: number | undefined = undefined
      while (true) {
        const ids: ReadonlyArray<number> = yield* store.listing.ids({ ...options, before, limit: batch })
        if (ids.length === 0) return total
        total += yield* action(ids)
        before = ids[ids.length - 1]
      }
    })

  const retryMany = (ids: ReadonlyArray<number>) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => store.failed.retry(ids, now)).pipe(
      Effect.tap((retried) => retried.length > 0 ? wakeup.ring : Effect.void),
      Effect.map((retried) => retried.length)
    )

  const retryAll: AdminService["retryAll"] = (filter) => eachBatch({ ...filter, state: "failed" }, retryMany)

  const discardAll: AdminService["discardAll"] = (filter) =>
    eachBatch(filter, (ids) => Effect.flatMap(Clock.currentTimeMillis, (now) => store.failed.discard(ids, now, filter.state)))

  const actions: JobActions = {
    retry: (id) =>
      Effect.gen(function*() {
        const job = yield* requireJob(id)
        if (job.state !== "failed") {
          return yield* new JobNotFailedError({ jobId: id, state: job.state, message: `job ${id} is ${job.state}, not failed` })
        }
        yield* retryMany([id])
      }),
    retryMany,
    retryAll,
    retryAllFailed: retryAll({}),
    discard: (id) =>
      Effect.gen(function*() {
        const job = yield* requireJob(id)
        if (job.state === "claimed") return yield* inProgress(id)
        const n = yield* store.failed.discard([id], yield* Clock.currentTimeMillis)
        // Claimed between the look-up and the delete: the guard in the DELETE kept it.
        if (n === 0) return yield* inProgress(id)
      }),
    discardMany: (ids) =>
      store.withTransaction(Effect.gen(function*() {
        const rows = yield* store.jobs.findMany(ids)
        const claimed = rows.find((r) => r.state === "claimed")
        if (claimed) return yield* inProgress(claimed.id)
        return yield* store.failed.discard(ids, yield* Clock.currentTimeMillis)
      })),
    discardAll,
    discardAllFailed: discardAll({ state: "failed" }),
    cancel: (id) =>
      Effect.gen(function*() {
        const result = yield* store.cancellation.cancel(id, yield* Clock.currentTimeMillis)
        if (result === "missing") return yield* new JobNotFoundError({ jobId: id, message: `job ${id} does not exist` })
        if (result === "requested") yield* notices.cancelRequested([id])
        if (result === "cancelled") yield* notices.settled([id])
        return result
      }),
    runNow: (jobId) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const moved = yield* store.scheduled.now([jobId], now)
        if (moved.length > 0) return yield* wakeup.ring
        const job = yield* client.find(jobId)
        if (Option.isNone(job)) {
          return yield* new JobNotFoundError({ jobId, message: `job ${jobId} does not exist` })
        }
        return yield* new JobNotScheduledError({
          jobId,
          state: job.value.state,
          message: `job ${jobId} is ${job.value.state}, not scheduled`
        })
      }),
    clearFinishedJobs: (options) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const olderThan = Duration.toMillis(options?.olderThan ?? defaults.clearFinishedJobsAfter)
        return yield* store.clearFinished(now - olderThan, options?.batchSize ?? 500)
      })
  }
  return actions
})
