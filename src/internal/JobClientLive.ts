/**
 * The producer's service on the store: enqueue (validated and encoded first, then announced to this process's
 * subscribers and idle workers), look-up, and what handles do: status, await and cancel.
 */
import { Clock, Duration, Effect, Layer, Option } from "effect"
import type { JobInfo, JobOutcome, JobStatus } from "../Domain.js"
import { JobAwaitTimeoutError, JobNotFoundError } from "../Errors.js"
import { JobClient, type JobClientService, type JobRequest } from "../JobClient.js"
import { JobError } from "../JobError.js"
import { JobEvents } from "../JobEvents.js"
import * as JobHandle from "../JobHandle.js"
import { announceEnqueued } from "./announce.js"
import { jobView } from "./jobView.js"
import { names, Notices } from "./Notices.js"
import { prepareJobs } from "./prepare.js"
import type { AttemptRow, JobWithStateRow } from "./Storage.js"
import { Store } from "./Store.js"
import { Wakeup } from "./Wakeup.js"
import { hotSpan } from "./spans.js"

const date = (t: number | null) => Option.map(Option.fromNullable(t), (ms) => new Date(ms))

export const toJobInfo = (row: JobWithStateRow, attempts: ReadonlyArray<AttemptRow> = []): Option.Option<JobInfo> =>
  row.state === null ? Option.none() : Option.some({
    ...jobView(row),
    arguments: row.arguments,
    state: row.state,
    updatedAt: new Date(row.updated_at),
    startedAt: date(row.started_at),
    result: Option.fromNullable(row.result),
    attemptHistory: attempts.map((a) => ({
      attempt: a.attempt,
      error: JobError.parse(a.error),
      processId: Option.fromNullable(a.process_id),
      startedAt: date(a.started_at),
      finishedAt: new Date(a.finished_at)
    })),
    nextRetryAt: row.state === "scheduled" && row.attempts > 0 ? Option.some(new Date(row.scheduled_at)) : Option.none(),
    timeoutMs: Option.fromNullable(row.timeout_ms),
    maxAttempts: Option.fromNullable(row.max_attempts),
    cancelRequested: row.cancel_requested_at !== null
  })

/** A job's status as its handle reports it. */
export const statusOf = (row: Option.Option<JobWithStateRow>): JobStatus => {
  if (Option.isNone(row)) return "missing"
  const { attempts, state } = row.value
  // Between two executions (a moment inside a transaction another reader cannot see): it is on its way to ready.
  if (state === null) return "ready"
  switch (state) {
    case "claimed":
      return "running"
    case "finished":
      return "succeeded"
    case "scheduled":
      return attempts > 0 ? "retrying" : "scheduled"
    default:
      return state
  }
}

/** How a job ended, once it has. */
const outcomeOf = (row: JobWithStateRow): Option.Option<JobOutcome> => {
  switch (row.state) {
    case "finished":
      return Option.some({ _tag: "Succeeded", result: row.result })
    case "failed":
      return Option.some({ _tag: "Failed", error: JobError.parse(row.error ?? "") })
    case "cancelled":
      return Option.some({ _tag: "Cancelled" })
    default:
      return Option.none()
  }
}

/** The backstop of a wait: polls from 50 ms, doubling to at most a second, for notices that never come. */
const firstPoll = 50
const lastPoll = 1000

const make = Effect.gen(function*() {
  const store = yield* Store
  const events = yield* JobEvents
  const wakeup = yield* Wakeup
  const notices = yield* Notices

  /** Waits until `done` answers, re-reading after each notice naming the job or at each backstop poll. */
  const waitFor = <A, E>(jobId: number, read: Effect.Effect<Option.Option<A>, E>) =>
    Effect.scoped(Effect.gen(function*() {
      // Subscribed before the first read: an outcome written between the two is never missed.
      const settled = yield* notices.onSettled
      let poll = firstPoll
      while (true) {
        const answer = yield* read
        if (Option.isSome(answer)) return answer.value
        const notice = settled.take.pipe(Effect.repeat({ until: (n) => names(n, jobId) }))
        yield* Effect.raceFirst(notice, Effect.sleep(Duration.millis(poll)))
        poll = Math.min(poll * 2, lastPoll)
      }
    }))

  const find = (id: number) =>
    Effect.gen(function*() {
      const row = yield* store.jobs.find(id)
      if (Option.isNone(row)) return Option.none()
      return toJobInfo(row.value, yield* store.jobs.attempts(id))
    })

  const awaitOutcome: JobClientService["awaitOutcome"] = (id, options = {}) => {
    const read = Effect.flatMap(store.jobs.find(id), (row) =>
      Option.match(row, {
        onNone: () => Effect.fail(new JobNotFoundError({ jobId: id, message: `job ${id} does not exist (or was deleted)` })),
        onSome: (r) => Effect.succeed(outcomeOf(r))
      }))
    const waiting = waitFor(id, read)
    if (options.timeout === undefined) return waiting
    const timeoutMs = Duration.toMillis(options.timeout)
    return Effect.timeoutFail(waiting, {
      duration: options.timeout,
      onTimeout: () => new JobAwaitTimeoutError({ jobId: id, timeoutMs, message: `job ${id} had not ended after ${Duration.format(options.timeout!)}` })
    })
  }

  const cancel: JobClientService["cancel"] = (id, options = {}) =>
    Effect.gen(function*() {
      const result = yield* store.cancellation.cancel(id, yield* Clock.currentTimeMillis)
      if (result === "cancelled") {
        yield* notices.settled([id])
        return true
      }
      // Cancelled before (by another cancel, or an operator): it did end cancelled.
      if (result === "ended") return Option.exists(yield* store.jobs.find(id), (row) => row.state === "cancelled")
      if (result !== "requested") return false
      yield* notices.cancelRequested([id])
      const ended = waitFor(id, Effect.map(store.jobs.find(id), (row) =>
        Option.isNone(row) ? Option.some("missing" as const) : Option.map(outcomeOf(row.value), (o) => o._tag)))
      const end = yield* Effect.timeoutOption(ended, options.wait ?? Duration.seconds(5))
      return Option.getOrUndefined(end) === "Cancelled"
    })

  const enqueueAll = (requests: Iterable<JobRequest>) =>
    Effect.gen(function*() {
      const all = Array.from(requests)
      const now = yield* Clock.currentTimeMillis
      const jobs = yield* prepareJobs(all, now)
      if (jobs.length === 0) return []
      const enqueued = yield* announceEnqueued(events, wakeup, yield* store.enqueue(jobs, now))
      return enqueued.map((job, i) => JobHandle.enqueued(job, all[i].codecs, service))
    }).pipe(hotSpan("steady-queue.enqueue", {}, (jobs) => ({ jobs: jobs.length })))

  const service: JobClientService = {
    enqueue: <A, E>(request: JobRequest<A, E>) =>
      Effect.map(enqueueAll([request]), (handles) => handles[0] as JobHandle.EnqueuedHandle<A, E>),
    enqueueAll: enqueueAll as JobClientService["enqueueAll"],
    find,
    status: (id) => Effect.map(store.jobs.find(id), statusOf),
    awaitOutcome,
    cancel
  }
  return service
})

export const layer = Layer.effect(JobClient, make)
