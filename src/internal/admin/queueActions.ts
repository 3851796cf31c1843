/**
 * The operator's actions on queues and recurring tasks: pause and resume (the queue name checked once, here), run
 * a recurring task now, add and remove dynamic ones (static ones belong to the code).
 */
import { Clock, Effect, Option } from "effect"
import type { AdminService } from "../../Admin.js"
import { InvalidRecurringTaskError, RecurringTaskNotFoundError } from "../../Errors.js"
import { JobEvents } from "../../JobEvents.js"
import { announceEnqueued } from "../announce.js"
import { checkQueueName } from "../prepare.js"
import { enqueueRun } from "../RecurringRun.js"
import { Store } from "../Store.js"
import { Wakeup } from "../Wakeup.js"

export type QueueActions = Pick<
  AdminService,
  | "pause"
  | "resume"
  | "runRecurringNow"
  | "addRecurringTask"
  | "removeRecurringTask"
>

export const make = Effect.gen(function*() {
  const store = yield* Store
  const events = yield* JobEvents
  const wakeup = yield* Wakeup

  const actions: QueueActions = {
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
  return actions
})
