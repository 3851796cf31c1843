/**
 * One run of a recurring task: the job and its `(key, run_at)` row in one transaction, so that however many
 * schedulers (or operators clicking "run now") race, each run is enqueued once.
 */
import { Effect, Option } from "effect"
import type { RecurringTask } from "../Domain.js"
import type { PersistenceError } from "../Errors.js"
import type { InsertedJob } from "./Storage.js"
import type { Store } from "./Store.js"

/** Enqueues the run at `runAt`; none when another process recorded that run first. */
export const enqueueRun = (
  store: Store["Type"],
  task: RecurringTask,
  runAt: number,
  now: number
): Effect.Effect<Option.Option<InsertedJob>, PersistenceError> => {
  const job = {
    publicId: crypto.randomUUID(),
    queueName: task.queueName ?? "default",
    taskName: task.taskName,
    arguments: task.arguments,
    priority: task.priority ?? 0,
    scheduledAt: runAt,
    concurrencyKey: task.concurrency?.key ?? null,
    concurrencyLimit: task.concurrency?.limit ?? null,
    concurrencyDurationMs: task.concurrency?.durationMs ?? null,
    timeoutMs: null,
    maxAttempts: null
  }
  return store.withTransaction(Effect.gen(function*() {
    const [row] = yield* store.enqueue([job], now)
    yield* store.recurring.recordRun(task.key, runAt, row.id, now)
    return row
  })).pipe(
    Effect.map(Option.some),
    Effect.catchAll((error) =>
      Effect.flatMap(store.recurring.runExists(task.key, runAt), (exists) =>
        exists ? Effect.succeed(Option.none()) : Effect.fail(error))
    )
  )
}
