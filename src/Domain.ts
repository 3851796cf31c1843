/**
 * The nouns of steady-queue, each defined once: job states, jobs as producers, handlers and operators see them,
 * queues, processes and recurring tasks. Public modules and the SQL code alike import them from here.
 */
import { type Option, Schema } from "effect"
import type { JobError } from "./JobError.js"

/**
 * Where a job is: waiting for its time, waiting for a worker, held by one, waiting for a slot, or done (failed,
 * finished, or cancelled).
 */
export const JobStates = ["scheduled", "ready", "claimed", "blocked", "failed", "finished", "cancelled"] as const
export const JobState = Schema.Literal(...JobStates)
export type JobState = typeof JobState.Type

/** The states an operator can discard jobs in (a claimed job is a worker's; a finished one is gone soon anyway). */
export const DiscardableStates = ["failed", "ready", "scheduled", "blocked"] as const satisfies ReadonlyArray<JobState>
export type DiscardableState = typeof DiscardableStates[number]

/** A task's concurrency control, resolved for one payload. */
export interface ConcurrencyControl {
  readonly key: string
  readonly limit: number
  readonly durationMs: number
}

/** A job just written by an enqueue. */
export interface EnqueuedJob {
  readonly id: number
  readonly publicId: string
  readonly taskName: string
  readonly queueName: string
  readonly priority: number
  readonly scheduledAt: Date
}

/** The job a handler is running (`CurrentJob`), as events also carry it. */
export interface JobDescription {
  readonly id: number
  readonly publicId: string
  readonly taskName: string
  readonly queueName: string
  readonly priority: number
  /** How many times the job was retried after failing (0 on its first run). */
  readonly attempts: number
  /** Which run of the job this is: 1 on its first run, 2 after one retry (`attempts + 1`). */
  readonly attempt: number
  readonly scheduledAt: Date
  readonly enqueuedAt: Date
  /** The concurrency control the job runs under, if its task has one. */
  readonly concurrency: { readonly key: string; readonly limit: number } | null
}

/**
 * A job as its handle reports it: waiting (scheduled, ready, blocked, or retrying: scheduled again after a failed
 * attempt), running, ended (succeeded, failed, cancelled), or missing (never existed, or deleted since).
 */
export const JobStatuses = [
  "scheduled",
  "ready",
  "blocked",
  "running",
  "retrying",
  "succeeded",
  "failed",
  "cancelled",
  "missing"
] as const
export type JobStatus = typeof JobStatuses[number]

/** A failed attempt of a job, kept with it. */
export interface AttemptInfo {
  /** 1 for the first run. */
  readonly attempt: number
  readonly error: JobError
  /** The process it ran on. */
  readonly processId: Option.Option<number>
  readonly startedAt: Option.Option<Date>
  readonly finishedAt: Date
}

/** How a job ended, as stored: its encoded result, its last error, or its cancellation. */
export type JobOutcome =
  | { readonly _tag: "Succeeded"; readonly result: string | null }
  | { readonly _tag: "Failed"; readonly error: JobError }
  | { readonly _tag: "Cancelled" }

/** One job in full, as `JobClient.find` reads it. */
export interface JobInfo extends Omit<JobDescription, "enqueuedAt" | "concurrency" | "attempt"> {
  /** The payload as stored (encoded JSON). */
  readonly arguments: string
  readonly state: JobState
  readonly createdAt: Date
  readonly updatedAt: Date
  readonly finishedAt: Option.Option<Date>
  readonly concurrencyKey: Option.Option<string>
  readonly error: Option.Option<JobError>
  /** The process holding the job while it is claimed, or the one it failed on. */
  readonly processId: Option.Option<number>
  /** When its current (or last) attempt started, once it has. */
  readonly startedAt: Option.Option<Date>
  /** The handler's result, encoded with the task's `success` schema (JSON), once it succeeded. */
  readonly result: Option.Option<string>
  /** Every failed attempt, oldest first, each with its error, process and times. */
  readonly attemptHistory: ReadonlyArray<AttemptInfo>
  /** When a job waiting to be retried runs next. */
  readonly nextRetryAt: Option.Option<Date>
  /** Its task's timeout and attempt limit, as enqueued. */
  readonly timeoutMs: Option.Option<number>
  readonly maxAttempts: Option.Option<number>
  /** A running job asked to stop: its worker interrupts it. */
  readonly cancelRequested: boolean
}

/** The parts of `JobInfo` only the one-job read has. */
type OneJobOnly =
  | "arguments"
  | "updatedAt"
  | "startedAt"
  | "result"
  | "attemptHistory"
  | "nextRetryAt"
  | "timeoutMs"
  | "maxAttempts"
  | "cancelRequested"

/** A job as lists show it: everything but its payload and the details of its attempts. */
export interface ListedJob extends Omit<JobInfo, OneJobOnly> {
  /** When the job entered its state. */
  readonly since: Date
}

/** A queue with ready jobs, or a paused one. */
export interface QueueInfo {
  readonly name: string
  readonly size: number
  readonly paused: boolean
}

/** A queue as operators see it. */
export interface QueueOverview {
  readonly name: string
  /** Ready jobs waiting in the queue. */
  readonly size: number
  /** How long the oldest ready job has been waiting; none when the queue is empty. */
  readonly latencyMs: Option.Option<number>
  readonly paused: boolean
}

/** A registered process: supervisor, worker, dispatcher or scheduler. */
export interface ProcessInfo {
  readonly id: number
  readonly kind: string
  readonly name: string
  readonly pid: number
  readonly hostname: Option.Option<string>
  readonly supervisorId: Option.Option<number>
  readonly metadata: Option.Option<string>
  readonly startedAt: Date
  readonly lastHeartbeatAt: Date
  readonly heartbeatAgeMs: number
  /** Jobs this process holds now. */
  readonly inProgress: number
}

/** A task enqueued on a cron schedule: static ones from code, dynamic ones added at run time. */
export interface RecurringTask {
  readonly key: string
  readonly schedule: string
  readonly timeZone: string | null
  readonly taskName: string
  /** The payload, encoded. */
  readonly arguments: string
  readonly queueName: string | null
  readonly priority: number | null
  readonly description: string | null
  readonly static: boolean
  /** The task's concurrency control for this payload, if it has one. */
  readonly concurrency: ConcurrencyControl | null
}

/** A recurring task with its last and next runs. */
export interface RecurringInfo extends RecurringTask {
  readonly lastRun: Option.Option<Date>
  readonly nextRun: Option.Option<Date>
}
