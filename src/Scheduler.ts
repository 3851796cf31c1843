/**
 * The scheduler: upserts this process's static recurring tasks (and deletes static ones no longer in code), then
 * runs one fiber per recurring task that sleeps until the next cron time and enqueues the task, recording
 * `(key, run_at)` in the same transaction so that racing schedulers enqueue each run once. Dynamic tasks are
 * re-read every `pollingInterval`.
 *
 * Missed runs: a run whose time passed while no scheduler was running (or while it was suspended for longer than
 * one period) is not enqueued afterwards; the scheduler starts from the next upcoming time.
 */
import { Clock, Cron as EffectCron, Duration, Effect, Either, Fiber, Option, Schedule, type Scope } from "effect"
import { JobEvents } from "./JobEvents.js"
import { defaults } from "./QueueConfig.js"
import { RecurringRegistry, type RecurringTask } from "./Recurring.js"
import { announceEnqueued } from "./internal/announce.js"
import * as Cron from "./internal/Cron.js"
import { randomName, register } from "./internal/ProcessRow.js"
import { enqueueRun } from "./internal/RecurringRun.js"
import { provideInternals } from "./internal/RuntimeContext.js"
import { Store } from "./internal/Store.js"
import { Wakeup } from "./internal/Wakeup.js"
import type { Runtime } from "./Runtime.js"

export interface SchedulerOptions {
  /** How often dynamic recurring tasks are re-read (default 5 seconds). */
  readonly pollingInterval?: Duration.DurationInput
  readonly name?: string
  readonly supervisorId?: number | null
  readonly heartbeatInterval?: Duration.DurationInput
}

export const defaultPollingInterval = Duration.seconds(5)

const fingerprint = (t: RecurringTask) => JSON.stringify(t)

export const start = (
  options: SchedulerOptions = {}
): Effect.Effect<number, never, Scope.Scope | Runtime | RecurringRegistry | JobEvents> =>
  provideInternals(Effect.gen(function*() {
    const store = yield* Store
    const registry = yield* RecurringRegistry
    const events = yield* JobEvents
    const wakeup = yield* Wakeup
    const statics = yield* registry.all
    const processId = yield* register({
      kind: "Scheduler",
      name: options.name ?? randomName("Scheduler"),
      supervisorId: options.supervisorId ?? null,
      metadata: { recurringTasks: statics.map((t) => t.key) },
      heartbeatInterval: options.heartbeatInterval ?? defaults.processHeartbeatInterval
    })
    yield* Effect.flatMap(Clock.currentTimeMillis, (now) => store.recurring.syncStatic(statics, now)).pipe(
      Effect.catchAll((e) => Effect.logError("steady-queue: could not store the static recurring tasks", e))
    )

    /** Enqueues one run; another scheduler having enqueued it already is not an error. */
    const enqueueTaskRun = (task: RecurringTask, runAt: number) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        yield* announceEnqueued(events, wakeup, Option.toArray(yield* enqueueRun(store, task, runAt, now)))
      }).pipe(Effect.catchAll((e) => Effect.logError(`steady-queue: could not enqueue recurring task "${task.key}"`, e)))

    const runTask = (task: RecurringTask) =>
      Effect.gen(function*() {
        const cron = Cron.parse(task.schedule, task.timeZone ?? "UTC")
        if (Either.isLeft(cron)) {
          return yield* Effect.logError(`steady-queue: recurring task "${task.key}" has an invalid schedule ${cron.left}; not scheduled`)
        }
        let last = yield* Clock.currentTimeMillis
        while (true) {
          const now = yield* Clock.currentTimeMillis
          let next = EffectCron.next(cron.right, new Date(last)).getTime()
          // Fell behind by more than a period (suspended, clock jump): skip to the upcoming run.
          if (next < now && EffectCron.next(cron.right, new Date(next)).getTime() <= now) {
            next = EffectCron.next(cron.right, new Date(now)).getTime()
          }
          if (next > now) yield* Effect.sleep(Duration.millis(next - now))
          yield* enqueueTaskRun(task, next).pipe(Effect.withSpan("steady-queue.recurring", { attributes: { key: task.key, runAt: next } }))
          last = next
        }
      })

    const running = new Map<string, { readonly fingerprint: string; readonly fiber: Fiber.RuntimeFiber<void> }>()
    const refresh = Effect.gen(function*() {
      const tasks = yield* store.recurring.all
      const keys = new Set(tasks.map((t) => t.key))
      for (const [key, entry] of running) {
        if (!keys.has(key)) {
          yield* Fiber.interrupt(entry.fiber)
          running.delete(key)
        }
      }
      for (const task of tasks) {
        const entry = running.get(task.key)
        if (entry?.fingerprint === fingerprint(task)) continue
        if (entry) yield* Fiber.interrupt(entry.fiber)
        running.set(task.key, { fingerprint: fingerprint(task), fiber: yield* Effect.forkScoped(runTask(task)) })
      }
    }).pipe(Effect.catchAll((e) => Effect.logWarning("steady-queue: could not read recurring tasks", e)))

    yield* refresh
    yield* refresh.pipe(
      Effect.repeat(Schedule.spaced(options.pollingInterval ?? defaultPollingInterval)),
      Effect.delay(options.pollingInterval ?? defaultPollingInterval),
      Effect.forkScoped
    )
    return processId
  }))
