/**
 * The operator's reads: queues, state counts, job lists and one job in full, processes, recurring tasks with their
 * runs, and the throughput chart. Nothing here counts a whole table: state counts stop at a cap.
 */
import { Clock, Cron as EffectCron, Effect, Either, Option } from "effect"
import type { AdminService, JobPage, ListOptions, StateCount } from "../../Admin.js"
import { type JobState, JobStates, type ListedJob, type ProcessInfo, type RecurringTask } from "../../Domain.js"
import { JobClient } from "../../JobClient.js"
import * as Cron from "../Cron.js"
import { toJobInfo } from "../JobClientLive.js"
import { jobView } from "../jobView.js"
import type { ListedJobRow, ProcessOverviewRow } from "../Storage.js"
import { Store } from "../Store.js"
import * as ThroughputCache from "../ThroughputCache.js"

export type Reads = Pick<
  AdminService,
  | "queues"
  | "pausedQueues"
  | "stateCounts"
  | "jobs"
  | "job"
  | "failedJobs"
  | "processes"
  | "recurringTasks"
  | "throughput"
>

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

export const make = Effect.gen(function*() {
  const store = yield* Store
  const client = yield* JobClient

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

  const reads: Reads = {
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
    throughput: throughput.lastHour
  }
  return reads
})
