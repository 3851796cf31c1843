/**
 * The runtime entry point: runs the configured workers and dispatchers (async mode: as fibers of this process)
 * under one registered supervisor. Launch its layer with `NodeRuntime.runMain`; SIGTERM or SIGINT then close it
 * gracefully: polling stops, running jobs get `shutdownTimeout` to finish, the rest are interrupted and their
 * claims released back to ready.
 */
import { Effect, Layer, Scope } from "effect"
import * as Dispatcher from "./Dispatcher.js"
import type { InvalidConfigError } from "./Errors.js"
import type { JobEvents } from "./JobEvents.js"
import * as QueueConfig from "./QueueConfig.js"
import type { TaskRegistry } from "./TaskRegistry.js"
import * as Worker from "./Worker.js"
import { randomName, register } from "./internal/ProcessRow.js"
import type { Store } from "./internal/Store.js"
import type { Wakeup } from "./internal/Wakeup.js"

export interface Running {
  readonly supervisorId: number
  readonly workerIds: ReadonlyArray<number>
  readonly dispatcherIds: ReadonlyArray<number>
}

/** Starts everything in the current scope. */
export const start = (
  config: QueueConfig.QueueConfig
): Effect.Effect<Running, never, Scope.Scope | Store | TaskRegistry | JobEvents | Wakeup> =>
  Effect.gen(function*() {
    const supervisorId = yield* register({
      kind: "Supervisor",
      name: randomName("Supervisor"),
      supervisorId: null,
      metadata: { workers: config.workers.length, dispatchers: config.dispatchers.length },
      heartbeatInterval: config.processHeartbeatInterval
    })
    const common = { supervisorId, heartbeatInterval: config.processHeartbeatInterval }

    // Each process gets its own scope, and they are all closed at once, so shutdown takes one
    // `shutdownTimeout`, not one per worker.
    const children: Array<Scope.CloseableScope> = []
    yield* Effect.addFinalizer((exit) =>
      Effect.forEach(children, (scope) => Scope.close(scope, exit), { concurrency: "unbounded", discard: true })
    )
    const inChildScope = <A, R>(effect: Effect.Effect<A, never, R | Scope.Scope>) =>
      Effect.flatMap(Scope.make(), (scope) => {
        children.push(scope)
        return Scope.extend(effect, scope)
      })

    const dispatcherIds = yield* Effect.forEach(config.dispatchers, (d) =>
      inChildScope(Dispatcher.start({ ...Dispatcher.fromConfig(d), ...common })))
    const workerIds = yield* Effect.forEach(
      config.workers.flatMap((w) => Array.from({ length: w.processes }, () => w)),
      (w) =>
        inChildScope(Worker.start({
          ...Worker.fromConfig(w),
          ...common,
          preserveFinishedJobs: config.preserveFinishedJobs,
          shutdownTimeout: config.shutdownTimeout
        }))
    )
    yield* Effect.logInfo(
      `steady-queue: supervisor ${supervisorId} running ${workerIds.length} worker(s) and ${dispatcherIds.length} dispatcher(s)`
    )
    return { supervisorId, workerIds, dispatcherIds }
  })

/** The supervisor as a layer; with no configuration it runs the seeds' default worker and dispatcher. */
export const layer = (
  config: QueueConfig.QueueConfigInput = {}
): Layer.Layer<never, InvalidConfigError, Store | TaskRegistry | JobEvents | Wakeup> =>
  Layer.scopedDiscard(Effect.flatMap(QueueConfig.make(config), start))

