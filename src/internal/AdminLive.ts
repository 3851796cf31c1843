/**
 * The operator's service on the store: the reads behind the dashboard and the command line, and every operator
 * action, each validated once here.
 */
import { Clock, Cron as EffectCron, Duration, Effect, Either, Layer, Option } from "effect"
import { Admin, type AdminService, type JobPage, type ListOptions, type StateCount } from "../Admin.js"
import { type JobState, JobStates, type ListedJob, type ProcessInfo, type RecurringTask } from "../Domain.js"
import {
  InvalidRecurringTaskError,
  JobInProgressError,
  JobNotFailedError,
  JobNotFoundError,
  JobNotScheduledError,
  type PersistenceError,
  RecurringTaskNotFoundError
} from "../Errors.js"
import { JobClient } from "../JobClient.js"
import { JobEvents } from "../JobEvents.js"
import { announceEnqueued } from "./announce.js"
import { defaults } from "../QueueConfig.js"
import * as Cron from "./Cron.js"
import { toJobInfo } from "./JobClientLive.js"
import { jobView } from "./jobView.js"
import { checkQueueName } from "./prepare.js"
import { enqueueRun } from "./RecurringRun.js"
import type { ListedJobRow, ProcessOverviewRow } from "./Storage.js"
import { Store } from "./Store.js"
import * as ThroughputCache from "./ThroughputCache.js"
import { Wakeup } from "./Wakeup.js"

const optionalDate = (t: number | null) => (t === null ? Option.none() : Option.some(new Date(t)))

const toListedJob = (state: JobState) => (r: ListedJobRow): ListedJob => ({
  ...jobView(r),
  state,
  since: new Date(r.since ?? r.created_at)
})

const toProcessInfo = (now: number) => (r: ProcessOverviewRow): ProcessInfo => ({
  id: r.id,
  kind: r.kind,
  name: r.name,
  pid: r.pid,
  hostname: Option.fromNullable(r.hostname),
  supervisorId: Option.fromNullable(r.supervisor_id),
  metadata: Option.fromNullable(r.metadata),
  startedAt: new Date(r.created_at),
  lastHeartbeatAt: new Date(r.last_heartbeat_at),
  heartbeatAgeMs: Math.max(0, now - r.last_heartbeat_at),
  inProgress: r.in_progress
})

const nextRun = (task: RecurringTask, now: number): Option.Option<Date> =>
  Either.match(Cron.parse(task.schedule, task.timeZone ?? "UTC"), {
    onLeft: () => Option.none(),
    onRight: (cron) => Option.some(EffectCron.next(cron, new Date(now)))
  })

const inProgress = (id: number) => new JobInProgressError({ jobId: id, message: `job ${id} is in progress on a worker` })

const batch = 500

const make = Effect.gen(function*() {
  const store = yield* Store
  const client = yield* JobClient
  const events = yield* JobEvents
  const wakeup = yield* Wakeup

  const jobs = (options: ListOptions) =>
    Effect.gen(function*() {
      const limit = Math.max(1, Math.min(1000, Math.trunc(options.limit ?? 25)))
      const rows = yield* store.listing.list({ ...options, limit: limit + 1 })
      const page = rows.slice(0, limit).map(toListedJob(options.state))
      return {
        jobs: page,
        next: rows.length > limit ? Option.some(page[page.length - 1].id) : Option.none()
      } satisfies JobPage
    })

  const requireJob = (id: number) =>
    Effect.flatMap(client.find(id), Option.match({
      onNone: () => Effect.fail(new JobNotFoundError({ jobId: id, message: `job ${id} does not exist` })),
      onSome: Effect.succeed
    }))

  const throughput = yield* ThroughputCache.make((since) =>
    Effect.all([store.overview.finishedPerMinute(since), store.overview.failedPerMinute(since)])
  )

  const processes = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    return (yield* store.overview.processes).map(toProcessInfo(now))
  })

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

  const service: AdminService = {
    queues: Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      return (yield* store.queues.list).map(({ oldest, ...queue }) => ({
        ...queue,
        latencyMs: oldest === null ? Option.none() : Option.some(Math.max(0, now - oldest))
      }))
    }),
    pausedQueues: store.queues.paused,
    stateCounts: (cap = 1000) =>
      Effect.forEach(JobStates, (state) =>
        Effect.map(store.overview.countUpTo(state, cap + 1), (n): StateCount => ({
          state,
          count: Math.min(n, cap),
          capped: n > cap
        }))),
    jobs,
    job: (id) =>
      Effect.gen(function*() {
        const info = yield* client.find(id)
        if (Option.isNone(info)) return Option.none()
        const processId = info.value.processId
        const process = Option.isNone(processId)
          ? Option.none()
          : Option.fromNullable((yield* processes).find((p) => p.id === processId.value))
        return Option.some({ ...info.value, process })
      }),
    failedJobs: (options) =>
      Effect.flatMap(store.jobs.failed(options?.limit ?? 100, options?.afterId ?? 0), store.jobs.findMany).pipe(
        Effect.map((rows) => rows.flatMap((r) => Option.toArray(toJobInfo(r))).sort((a, b) => a.id - b.id))
      ),
    processes,
    recurringTasks: Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const tasks = yield* store.recurring.all
      const last = new Map((yield* store.overview.lastRuns).map((r) => [r.task_key, r.last_run]))
      return tasks.map((task) => ({
        ...task,
        lastRun: optionalDate(last.get(task.key) ?? null),
        nextRun: nextRun(task, now)
      }))
    }),
    throughput: throughput.lastHour,
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
      }),
    pause: (queue) =>
      checkQueueName(queue).pipe(
        Effect.zipRight(Clock.currentTimeMillis),
        Effect.flatMap((now) => store.queues.pause(queue, now)),
        Effect.asVoid
      ),
    resume: (queue) =>
      checkQueueName(queue).pipe(Effect.zipRight(store.queues.resume(queue)), Effect.zipRight(wakeup.ring), Effect.asVoid),
    runRecurringNow: (key) =>
      Effect.gen(function*() {
        const task = (yield* store.recurring.all).find((t) => t.key === key)
        if (task === undefined) {
          return yield* new RecurringTaskNotFoundError({ key, message: `there is no recurring task "${key}"` })
        }
        const now = yield* Clock.currentTimeMillis
        // A run at this very millisecond exists already only if someone else clicked at the same instant.
        const row = Option.getOrThrow(yield* enqueueRun(store, task, now, now).pipe(
          Effect.filterOrElse(Option.isSome, () => enqueueRun(store, task, now + 1, now))
        ))
        const [job] = yield* announceEnqueued(events, wakeup, [row])
        return job
      }),
    addRecurringTask: (task) =>
      Effect.gen(function*() {
        const existing = (yield* store.recurring.all).find((r) => r.key === task.key)
        if (existing?.static) {
          return yield* new InvalidRecurringTaskError({ key: task.key, message: `recurring task "${task.key}" is static; change it in code` })
        }
        yield* store.recurring.upsert({ ...task, static: false }, yield* Clock.currentTimeMillis)
      }),
    removeRecurringTask: (key) =>
      Effect.gen(function*() {
        const existing = (yield* store.recurring.all).find((r) => r.key === key)
        if (existing === undefined) return false
        if (existing.static) {
          return yield* new InvalidRecurringTaskError({ key, message: `recurring task "${key}" is static; remove it from code` })
        }
        yield* store.recurring.remove(key)
        return true
      })
  }
  return service
})

export const layer = Layer.effect(Admin, make)
