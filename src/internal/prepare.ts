/**
 * Turning job requests into rows: every request is validated and encoded before anything is written, so a
 * bad one fails the whole enqueue with a typed error and no partial write.
 */
import { Duration, Effect, Either, Option } from "effect"
import { InvalidJobOptionsError, type PayloadEncodeError } from "../Errors.js"
import type { JobRequest } from "../JobClient.js"
import type { NewJob } from "./sql/enqueue.js"

export const minPriority = -100
export const maxPriority = 100
const maxNameLength = 255

const invalid = (request: JobRequest, option: string, message: string) =>
  new InvalidJobOptionsError({ taskName: request.taskName, option, message })

export const validateQueueName = (queue: string): string | undefined =>
  queue.length === 0
    ? "queue name must not be empty"
    : queue.length > maxNameLength
    ? `queue name must be at most ${maxNameLength} characters`
    : queue.includes("*")
    ? "queue name must not contain '*' (wildcards are for worker queue lists)"
    : undefined

const scheduledAt = (request: JobRequest, now: number): Either.Either<number, InvalidJobOptionsError> => {
  const { delay, runAt } = request.options
  if (delay !== undefined && runAt !== undefined) {
    return Either.left(invalid(request, "delay", "give either delay or runAt, not both"))
  }
  if (runAt !== undefined) {
    const t = runAt.getTime()
    return Number.isFinite(t) ? Either.right(t) : Either.left(invalid(request, "runAt", "runAt is not a valid date"))
  }
  if (delay !== undefined) {
    // Duration clamps negative numbers to zero; a negative delay is a mistake, not "now".
    const d = typeof delay === "number" && delay < 0 ? Option.none() : Duration.decodeUnknown(delay)
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
  const queueProblem = validateQueueName(request.queue)
  if (queueProblem !== undefined) return Either.left(invalid(request, "queue", queueProblem))
  const concurrency = request.concurrency
  if (concurrency !== undefined) {
    if (!Number.isInteger(concurrency.limit) || concurrency.limit < 1) {
      return Either.left(invalid(request, "concurrency", "the concurrency limit must be a whole number of at least 1"))
    }
    if (!(concurrency.durationMs > 0) || !Number.isFinite(concurrency.durationMs)) {
      return Either.left(invalid(request, "concurrency", "the concurrency duration must be a positive, finite duration"))
    }
    if (concurrency.key.length > maxNameLength) {
      return Either.left(invalid(request, "concurrency", `the concurrency key must be at most ${maxNameLength} characters`))
    }
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
      concurrencyDurationMs: request.concurrency?.durationMs ?? null
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
