/**
 * Recurring tasks: a task enqueued on a cron schedule by the scheduler, exactly once per `(key, run_at)` however
 * many schedulers run. Static ones are layers (`Recurring.make`), upserted when a scheduler starts; dynamic ones
 * are added and removed at run time (`Recurring.add`, `Recurring.remove`) and picked up without a restart.
 */
import { Context, Effect, Either, Layer } from "effect"
import { InvalidRecurringTaskError } from "./Errors.js"
import { Admin } from "./Admin.js"
import type { Task } from "./Task.js"
import * as Cron from "./internal/Cron.js"
import type { RecurringTask } from "./Domain.js"
import { maxPriority, minPriority, validateQueueName } from "./internal/prepare.js"

export interface RecurringOptions<A, I> {
  /** Unique across all recurring tasks. */
  readonly key: string
  /** Cron with 5 fields (minute first) or 6 (second first), names allowed, or @yearly @annually @monthly
   * @weekly @daily @midnight @hourly. */
  readonly schedule: string
  /** IANA time zone the schedule is read in; default UTC. */
  readonly timeZone?: string
  readonly task: Task<A, I>
  readonly payload: A
  /** Default: the task's queue. */
  readonly queue?: string
  /** Default: the task's priority. */
  readonly priority?: number
  readonly description?: string
}

/** A validated recurring task, as stored. */
export type { RecurringTask } from "./Domain.js"

const invalid = (key: string, message: string) => new InvalidRecurringTaskError({ key, message: `recurring task "${key}": ${message}` })

/** Validates a recurring task: its schedule, time zone, queue, priority and payload. */
export const define = <A, I>(
  options: RecurringOptions<A, I>,
  isStatic = true
): Either.Either<RecurringTask, InvalidRecurringTaskError> => {
  const { key } = options
  if (key.trim().length === 0) return Either.left(invalid(key, "the key must not be empty"))
  const cron = Cron.parse(options.schedule, options.timeZone ?? null)
  if (Either.isLeft(cron)) return Either.left(invalid(key, `invalid schedule ${cron.left}`))
  const request = options.task.job(options.payload, {
    ...(options.queue === undefined ? {} : { queue: options.queue }),
    ...(options.priority === undefined ? {} : { priority: options.priority })
  })
  const queueProblem = validateQueueName(request.queue)
  if (queueProblem !== undefined) return Either.left(invalid(key, queueProblem))
  if (!Number.isInteger(request.priority) || request.priority < minPriority || request.priority > maxPriority) {
    return Either.left(invalid(key, `priority must be an integer from ${minPriority} to ${maxPriority}`))
  }
  return Either.map(
    Either.mapLeft(request.encodePayload(), (e) => invalid(key, `payload: ${e.message}`)),
    (args): RecurringTask => ({
      key,
      schedule: options.schedule,
      timeZone: options.timeZone ?? null,
      taskName: options.task.name,
      arguments: args,
      queueName: request.queue,
      priority: request.priority,
      description: options.description ?? null,
      static: isStatic,
      concurrency: request.concurrency ?? null
    })
  )
}

export interface RecurringRegistryService {
  readonly register: (task: RecurringTask) => Effect.Effect<void, InvalidRecurringTaskError>
  readonly unregister: (key: string) => Effect.Effect<void>
  readonly all: Effect.Effect<ReadonlyArray<RecurringTask>>
}

/** The static recurring tasks of this process, filled by `Recurring.make` layers. */
export class RecurringRegistry extends Context.Tag("steady-queue/RecurringRegistry")<RecurringRegistry, RecurringRegistryService>() {
  static readonly layer = Layer.sync(RecurringRegistry, (): RecurringRegistryService => {
    const tasks = new Map<string, RecurringTask>()
    return {
      register: (task) =>
        Effect.suspend(() => {
          const existing = tasks.get(task.key)
          if (existing !== undefined) {
            return Effect.fail(invalid(task.key, `the key is used twice, by task ${existing.taskName} ("${existing.schedule}") and by task ${task.taskName} ("${task.schedule}")`))
          }
          tasks.set(task.key, task)
          return Effect.void
        }),
      unregister: (key) => Effect.sync(() => void tasks.delete(key)),
      all: Effect.sync(() => [...tasks.values()])
    }
  })
}

/** A static recurring task, as a layer: an invalid schedule or a duplicate key fails at startup, naming the key. */
export const make = <A, I>(options: RecurringOptions<A, I>): Layer.Layer<never, InvalidRecurringTaskError, RecurringRegistry> =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const task = yield* define(options)
    const registry = yield* RecurringRegistry
    yield* Effect.acquireRelease(registry.register(task), () => registry.unregister(task.key))
  }))

/** Adds or replaces a dynamic recurring task; running schedulers pick it up at their next refresh. */
export const add = <A, I>(options: RecurringOptions<A, I>) =>
  Effect.gen(function*() {
    const task = yield* define(options, false)
    yield* Effect.flatMap(Admin, (admin) => admin.addRecurringTask(task))
    return task
  })

/** Removes a dynamic recurring task; returns whether one was removed. */
export const remove = (key: string) => Effect.flatMap(Admin, (admin) => admin.removeRecurringTask(key))

/** Every recurring task in the database, static and dynamic, with its last and next runs. */
export const list = Effect.flatMap(Admin, (admin) => admin.recurringTasks)
