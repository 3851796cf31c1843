/**
 * A task's retry policy and when it runs a failed job again. The time comes from the attempt number alone (the
 * schedule stepped that many times from its start), so a worker that restarts, or another process that fails a
 * lost job, computes the same time as the worker that ran it.
 */
import { Duration, Effect, Option, Schedule, ScheduleDecision, ScheduleIntervals } from "effect"

import type { RetryPolicy } from "../TaskRegistry.js"

export type { RetryPolicy } from "../TaskRegistry.js"

/** No retries: the behaviour of a task without a policy when the configuration sets no default. */
export const never: RetryPolicy = { maxAttempts: 1, schedule: Schedule.stop, while: () => false }

/** The configuration's default policy: `maxAttempts` runs, exponential backoff from `initialDelay`. */
export const exponential = (options: {
  readonly maxAttempts: number
  readonly initialDelay: Duration.DurationInput
  readonly factor?: number
  readonly maxDelay?: Duration.DurationInput | undefined
}): RetryPolicy => {
  const base = Schedule.exponential(options.initialDelay, options.factor ?? 2)
  const maxDelay = options.maxDelay
  const capped = maxDelay === undefined ? base : Schedule.modifyDelay(base, (d) => Duration.min(d, Duration.decode(maxDelay)))
  return { maxAttempts: options.maxAttempts, schedule: capped, while: () => true }
}

/**
 * When the job whose attempt `attempt` (1 for the first run) just failed with `error` runs again, as a time in
 * milliseconds; none when the policy does not retry it (exhausted, refused by `while`, or the schedule is done).
 */
export const nextRunAt = (
  policy: RetryPolicy,
  attempt: number,
  error: unknown,
  now: number
): Effect.Effect<Option.Option<number>> =>
  Effect.gen(function*() {
    if (attempt >= policy.maxAttempts) return Option.none()
    if (!policy.while(error)) return Option.none()
    let state: unknown = policy.schedule.initial
    let at = now
    for (let step = 0; step < attempt; step++) {
      const [next, , decision] = yield* policy.schedule.step(now, error, state)
      if (ScheduleDecision.isDone(decision)) return Option.none()
      state = next
      at = ScheduleIntervals.start(decision.intervals)
    }
    return Option.some(Math.max(now, Math.ceil(at)))
  }).pipe(Effect.catchAllDefect(() => Effect.succeed(Option.none())))
