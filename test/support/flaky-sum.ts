/**
 * A task with a result, a retry policy and a timeout, for the operators' views (dashboard, command line): it
 * fails its first `failures` attempts with `Flaky`, then succeeds with a total.
 */
import { CurrentJob, Task } from "../../src/index.js"
import { Data, Effect, Schedule, Schema } from "effect"

export class Flaky extends Data.TaggedError("Flaky")<{ readonly message: string }> {}

/** Retried at once, three runs at most. */
export const Sum = Task.make("Sum", {
  payload: Schema.Struct({ failures: Schema.Number }),
  success: Schema.Struct({ total: Schema.Number }),
  retry: { maxAttempts: 3, schedule: Schedule.forever },
  timeout: "1 minute",
  queue: "sums"
})

export const sumHandler = Sum.toLayer(({ failures }) =>
  Effect.flatMap(CurrentJob.CurrentJob, (job) =>
    job.attempt <= failures
      ? Effect.fail(new Flaky({ message: `attempt ${job.attempt} flaked` }))
      : Effect.succeed({ total: 42 })))
