/**
 * The operator's view of the queue, shared by the dashboard and the command line: queues with backlog and
 * latency, jobs by state (keyset-paginated, filtered by queue and task), one job in full, processes, recurring
 * tasks with their last and next runs, jobs finished and failed per minute, and the actions that go with them.
 * Nothing here counts a whole table: state counts stop at a cap.
 */
import { Clock, Context, Cron as EffectCron, Effect, Either, Layer, Option } from "effect"
import {
  InvalidQueueNameError,
  JobNotFoundError,
  JobNotScheduledError,
  type PersistenceError,
  RecurringTaskNotFoundError
} from "./Errors.js"
import {
  type DiscardableState,
  type EnqueuedJob,
  type JobInfo,
  type JobState,
  JobStates,
  type ListedJob,
  type ProcessInfo,
  type QueueOverview,
  type RecurringInfo,
  type RecurringTask
} from "./Domain.js"
import { JobClient } from "./JobClient.js"
import { JobEvents } from "./JobEvents.js"
import { announceEnqueued } from "./internal/announce.js"
import * as Cron from "./internal/Cron.js"
import { validateQueueName } from "./internal/prepare.js"
import { jobView } from "./internal/jobView.js"
import { enqueueRun } from "./internal/RecurringRun.js"
import type { ListedJobRow, ProcessOverviewRow } from "./internal/Storage.js"
import { Store } from "./internal/Store.js"
import * as ThroughputCache from "./internal/ThroughputCache.js"
import { Wakeup } from "./internal/Wakeup.js"

export const jobStates: ReadonlyArray<JobState> = JobStates

export type {
  DiscardableState,
  ListedJob,
  ProcessInfo,
  QueueOverview,
  RecurringInfo
} from "./Domain.js"

export interface JobFilter {
  readonly queue?: string | undefined
  readonly task?: string | undefined
}

export interface ListOptions extends JobFilter {
  readonly state: JobState
  /** The cursor of the previous page (`JobPage.next`). */
  readonly before?: number | undefined
  /** Default 25, at most 1,000. */
  readonly limit?: number | undefined
}

export interface JobPage {
  readonly jobs: ReadonlyArray<ListedJob>
  /** Pass as `before` for the next (older) page; none on the last page. */
  readonly next: Option.Option<number>
}

export interface StateCount {
  readonly state: JobState
  readonly count: number
  /** True when there are more than `count` (counting stopped at the cap). */
  readonly capped: boolean
}

export interface JobDetail extends JobInfo {
  /** The process holding the job while it is in progress, or the one it failed on, if it is still registered. */
  readonly process: Option.Option<ProcessInfo>
}

export interface MinuteCount {
  readonly minute: Date
  readonly finished: number
  readonly failed: number
}

export interface AdminService {
  readonly queues: Effect.Effect<ReadonlyArray<QueueOverview>, PersistenceError>
  /** Jobs in each state, counted up to `cap` (default 1,000). */
  readonly stateCounts: (cap?: number) => Effect.Effect<ReadonlyArray<StateCount>, PersistenceError>
  readonly jobs: (options: ListOptions) => Effect.Effect<JobPage, PersistenceError>
  readonly job: (id: number) => Effect.Effect<Option.Option<JobDetail>, PersistenceError>
  readonly processes: Effect.Effect<ReadonlyArray<ProcessInfo>, PersistenceError>
  readonly recurringTasks: Effect.Effect<ReadonlyArray<RecurringInfo>, PersistenceError>
  /** Jobs finished and failed in each of the last 60 minutes, oldest first. */
  readonly throughput: Effect.Effect<ReadonlyArray<MinuteCount>, PersistenceError>
  readonly pause: (queue: string) => Effect.Effect<void, InvalidQueueNameError | PersistenceError>
  readonly resume: (queue: string) => Effect.Effect<void, InvalidQueueNameError | PersistenceError>
  /** Makes a scheduled job due now. */
  readonly runNow: (jobId: number) => Effect.Effect<void, JobNotFoundError | JobNotScheduledError | PersistenceError>
  /** Enqueues a run of a recurring task now, besides its schedule. */
  readonly runRecurringNow: (key: string) => Effect.Effect<EnqueuedJob, RecurringTaskNotFoundError | PersistenceError>
  /** Retries every failed job matching the filter; returns how many. */
  readonly retryAll: (filter: JobFilter) => Effect.Effect<number, PersistenceError>
  /** Discards every job in `state` matching the filter, except those a worker holds; returns how many. */
  readonly discardAll: (
    filter: JobFilter & { readonly state: DiscardableState }
  ) => Effect.Effect<number, PersistenceError>
}

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

const checkQueue = (queue: string) => {
  const problem = validateQueueName(queue)
  return problem === undefined ? Effect.void : Effect.fail(new InvalidQueueNameError({ queue, message: problem }))
}

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

  const service: AdminService = {
    queues: Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      return (yield* store.queues.list).map(({ oldest, ...queue }) => ({
        ...queue,
        latencyMs: oldest === null ? Option.none() : Option.some(Math.max(0, now - oldest))
      }))
    }),
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
    pause: (queue) => Effect.zipRight(checkQueue(queue), client.pause(queue)),
    resume: (queue) => Effect.zipRight(checkQueue(queue), client.resume(queue)),
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
    retryAll: (filter) => eachBatch({ ...filter, state: "failed" }, client.retryMany),
    discardAll: (filter) =>
      eachBatch(filter, (ids) => Effect.flatMap(Clock.currentTimeMillis, (now) => store.failed.discard(ids, now, filter.state)))
  }
  return service
})

export class Admin extends Context.Tag("steady-queue/Admin")<Admin, AdminService>() {
  /** Needs what `SteadyQueue.layer` provides. */
  static readonly layerWithoutDependencies = Layer.effect(Admin, make)
}
