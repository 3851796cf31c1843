/**
 * A dispatcher: moves due scheduled jobs to ready, `batchSize` at a time (a `steady-queue.dispatch` span each),
 * going again at once while batches come back full and sleeping `pollingInterval` otherwise. Its concurrency maintenance, at start and every
 * `concurrencyMaintenanceInterval`, releases blocked jobs whose key has a free slot and drops expired semaphores.
 */
import { Clock, Duration, Effect, Schedule, type Scope } from "effect"
import { defaults, type DispatcherConfig } from "./QueueConfig.js"
import { randomName, register } from "./internal/ProcessRow.js"
import { provideInternals } from "./internal/RuntimeContext.js"
import { Store } from "./internal/Store.js"
import { Wakeup } from "./internal/Wakeup.js"
import type { Runtime } from "./Runtime.js"

export interface DispatcherOptions {
  readonly pollingInterval?: Duration.DurationInput
  readonly batchSize?: number
  readonly concurrencyMaintenance?: boolean
  readonly concurrencyMaintenanceInterval?: Duration.DurationInput
  readonly name?: string
  readonly supervisorId?: number | null
  readonly heartbeatInterval?: Duration.DurationInput
}

export const fromConfig = (config: DispatcherConfig): DispatcherOptions => ({
  pollingInterval: config.pollingInterval,
  batchSize: config.batchSize,
  concurrencyMaintenance: config.concurrencyMaintenance,
  concurrencyMaintenanceInterval: config.concurrencyMaintenanceInterval
})

/** Starts a dispatcher in the current scope; returns its process id. */
export const start = (options: DispatcherOptions = {}): Effect.Effect<number, never, Scope.Scope | Runtime> =>
  provideInternals(Effect.gen(function*() {
    const store = yield* Store
    const wakeup = yield* Wakeup
    const batchSize = options.batchSize ?? defaults.dispatcherBatchSize
    const pollingInterval = options.pollingInterval ?? defaults.dispatcherPollingInterval
    const processId = yield* register({
      kind: "Dispatcher",
      name: options.name ?? randomName("Dispatcher"),
      supervisorId: options.supervisorId ?? null,
      metadata: {
        batchSize,
        pollingInterval: Duration.toMillis(pollingInterval),
        concurrencyMaintenance: options.concurrencyMaintenance ?? defaults.concurrencyMaintenance,
        concurrencyMaintenanceInterval: Duration.toMillis(
          options.concurrencyMaintenanceInterval ?? defaults.concurrencyMaintenanceInterval
        )
      },
      heartbeatInterval: options.heartbeatInterval ?? defaults.processHeartbeatInterval
    })

    const dispatchOnce = Effect.flatMap(Clock.currentTimeMillis, (now) => store.scheduled.due(batchSize, now)).pipe(
      Effect.tap((due) => (due.length > 0 ? wakeup.ring : Effect.void)),
      Effect.map((due) => due.length),
      Effect.tap((n) => Effect.annotateCurrentSpan("dispatched", n)),
      Effect.withSpan("steady-queue.dispatch", { attributes: { batchSize } }),
      Effect.catchAll((e) => Effect.as(Effect.logWarning("steady-queue: dispatching failed", e), 0))
    )
    yield* dispatchOnce.pipe(
      Effect.flatMap((n) => (n >= batchSize ? Effect.yieldNow() : Effect.sleep(pollingInterval))),
      Effect.forever,
      Effect.forkScoped
    )
    if (options.concurrencyMaintenance ?? defaults.concurrencyMaintenance) {
      const interval = options.concurrencyMaintenanceInterval ?? defaults.concurrencyMaintenanceInterval
      // At start too: a dispatcher that comes back after a crash releases at once what has a free slot.
      yield* Effect.flatMap(Clock.currentTimeMillis, (now) => store.semaphores.maintain(now, batchSize)).pipe(
        Effect.tap((released) => (released > 0 ? wakeup.ring : Effect.void)),
        Effect.catchAll((e) => Effect.logWarning("steady-queue: concurrency maintenance failed", e)),
        Effect.repeat(Schedule.spaced(interval)),
        Effect.forkScoped
      )
    }
    return processId
  }))
