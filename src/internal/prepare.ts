/**
 * Turning job requests into rows: every request is validated and encoded before anything is written, so a
 * bad one fails the whole enqueue with a typed error and no partial write.
 */
import { Duration, Effect, Either, Option } from "effect"
import { InvalidJobOptionsError, InvalidQueueNameError, type PayloadEncodeError } from "../Errors.js"
import type { JobRequest } from "../JobClient.js"
import { nameProblem, queueNameProblem } from "./names.js"
import type { NewJob } from "./Storage.js"

export const minPriority = -100
export const maxPriority = 100

const invalid = (request: JobRequest, option: string, message: string) =>
  new InvalidJobOptionsError({ taskName: String(request.taskName), option, message })

/** The queue name rule (names.ts), for everything that takes a queue name: enqueue, pause, resume. */
export const validateQueueName = (queue: string): string | undefined => queueNameProblem(queue)

/** Fails with `InvalidQueueNameError` when `queue` breaks the rule, before any statement is sent. */
export const checkQueueName = (queue: string): Effect.Effect<void, InvalidQueueNameError> => {
  const problem = queueNameProblem(queue)
  return problem === undefined ? Effect.void : Effect.fail(new InvalidQueueNameError({ queue: String(queue), message: problem }))
}

// Effect's Duration clamps a negative or NaN input to zero, which would run the job at once: check the input
// first. A Duration value has been clamped already (`Duration.millis(-5)` is `Duration.zero`).
const isNegativeOrNaN = (delay: unknown): boolean => {
  if (typeof delay === "number") return Number.isNaN(delay) || delay < 0
  if (typeof delay === "bigint") return delay < 0n
  if (typeof delay === "string") return /^\s*-/.test(delay)
  if (Array.isArray(delay)) return delay.some(isNegativeOrNaN)
  return false
}

const scheduledAt = (request: JobRequest, now: number): Either.Either<number, InvalidJobOptionsError> => {
  const { delay, runAt } = request.options
  if (delay !== undefined && runAt !== undefined) {
    return Either.left(invalid(request, "delay", "give either delay or runAt, not both"))
  }
  if (runAt !== undefined) {
    const t = runAt instanceof Date ? runAt.getTime() : Number.NaN
    return Number.isFinite(t) ? Either.right(t) : Either.left(invalid(request, "runAt", "runAt must be a valid Date"))
  }
  if (delay !== undefined) {
    // A negative delay is a mistake, not "now".
    const d = isNegativeOrNaN(delay) ? Option.none() : Duration.decodeUnknown(delay)
    if (Option.isNone(d) || !Duration.isFinite(d.value)) {
      return Either.left(invalid(request, "delay", "delay must be a finite, non-negative duration"))
    }
    return Either.right(now + Math.ceil(Duration.toMillis(d.value)))
  }
  return Either.right(now)
}

const prepare = (request: JobRequest, now: number): Either.Either<NewJob, InvalidJobOptionsError | PayloadEncodeError> => {
  if (!Number.isInteger(request.priority) || request.priority < minPriority || request.priority > maxPriority) {
    return Either.left(
      invalid(request, "priority", `priority must be an integer from ${minPriority} to ${maxPriority}, got ${request.priority}`)
    )
  }
  const taskProblem = nameProblem("task name", request.taskName)
  if (taskProblem !== undefined) return Either.left(invalid(request, "taskName", taskProblem))
  const queueProblem = queueNameProblem(request.queue)
  if (queueProblem !== undefined) return Either.left(invalid(request, "queue", queueProblem))
  const concurrency = request.concurrency
  if (concurrency !== undefined) {
    if (!Number.isInteger(concurrency.limit) || concurrency.limit < 1) {
      return Either.left(invalid(request, "concurrency", "the concurrency limit must be a whole number of at least 1"))
    }
    if (!(concurrency.durationMs > 0) || !Number.isFinite(concurrency.durationMs)) {
      return Either.left(invalid(request, "concurrency", "the concurrency duration must be a positive, finite duration"))
    }
    // The stored key is "group/key"; the rule applies to what is stored.
    const keyProblem = nameProblem("concurrency key", concurrency.key)
    if (keyProblem !== undefined) return Either.left(invalid(request, "concurrency", `${keyProblem}: ${JSON.stringify(concurrency.key.slice(0, 60))}`))
  }
  return Either.all({ at: scheduledAt(request, now), args: request.encodePayload() }).pipe(
    Either.map(({ args, at }): NewJob => ({
      publicId: crypto.randomUUID(),
      queueName: request.queue,
      taskName: request.taskName,
      arguments: args,
      priority: request.priority,
      scheduledAt: at,
      concurrencyKey: request.concurrency?.key ?? null,
      concurrencyLimit: request.concurrency?.limit ?? null,
      concurrencyDurationMs: request.concurrency?.durationMs ?? null,
      timeoutMs: request.timeoutMs ?? null,
      maxAttempts: request.maxAttempts ?? null
    }))
  )
}

export const prepareJobs = (requests: ReadonlyArray<JobRequest>, now: number) =>
  Effect.suspend(() => {
    const jobs: Array<NewJob> = new Array(requests.length)
    for (let i = 0; i < requests.length; i++) {
      const prepared = prepare(requests[i], now)
      if (Either.isLeft(prepared)) return Effect.fail(prepared.left)
      jobs[i] = prepared.right
    }
    return Effect.succeed(jobs)
  })
