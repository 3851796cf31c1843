/**
 * The runtime entry point. It registers itself, prunes dead processes, and runs the configured workers,
 * dispatchers and scheduler: as fibers of this process (mode "async") or as child processes (mode "fork"), which re-run this
 * same program with their role in the environment, so one program serves as supervisor and as every child.
 * Launch its layer with `NodeRuntime.runMain`: SIGTERM or SIGINT stop it gracefully (polling stops, running jobs
 * get `shutdownTimeout` to finish, the rest go back to ready); SIGQUIT, or a second SIGTERM/SIGINT, stops it at once.
 */
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Layer, Option, Schedule, Scope } from "effect"
import * as Dispatcher from "./Dispatcher.js"
import type { InvalidConfigError, SupervisorAlreadyRunningError } from "./Errors.js"
import type { RecurringRegistry } from "./Recurring.js"
import * as Scheduler from "./Scheduler.js"
import type { JobEvents } from "./JobEvents.js"
import * as QueueConfig from "./QueueConfig.js"
import type { TaskRegistry } from "./TaskRegistry.js"
import * as Worker from "./Worker.js"
import * as Fork from "./internal/Fork.js"
import * as Pidfile from "./internal/Pidfile.js"
import { randomName, register } from "./internal/ProcessRow.js"
import { pruneDeadProcesses } from "./internal/Prune.js"
import * as Signals from "./internal/Signals.js"
import { provideInternals } from "./internal/RuntimeContext.js"
import type { Runtime } from "./Runtime.js"

export interface ProcessInfo {
  readonly kind: "Supervisor" | "Worker" | "Dispatcher" | "Scheduler"
  readonly id: number
}

/** Lifecycle hooks, run in the process they are about (a forked worker runs its own). Failures are logged. */
export interface Hooks<R = never> {
  readonly onStart?: (process: ProcessInfo) => Effect.Effect<void, unknown, R>
  readonly onStop?: (process: ProcessInfo) => Effect.Effect<void, unknown, R>
  readonly onWorkerStart?: (process: ProcessInfo) => Effect.Effect<void, unknown, R>
  readonly onWorkerStop?: (process: ProcessInfo) => Effect.Effect<void, unknown, R>
  readonly onDispatcherStart?: (process: ProcessInfo) => Effect.Effect<void, unknown, R>
  readonly onDispatcherStop?: (process: ProcessInfo) => Effect.Effect<void, unknown, R>
  readonly onSchedulerStart?: (process: ProcessInfo) => Effect.Effect<void, unknown, R>
  readonly onSchedulerStop?: (process: ProcessInfo) => Effect.Effect<void, unknown, R>
}

export interface Running {
  readonly supervisorId: number
  /** Process ids of the workers and dispatchers (async mode; forked children register themselves). */
  readonly workerIds: ReadonlyArray<number>
  readonly dispatcherIds: ReadonlyArray<number>
  readonly schedulerId: number | null
}

type Requirements = Scope.Scope | Runtime | TaskRegistry | RecurringRegistry | JobEvents

const runHook = <R>(
  hook: ((p: ProcessInfo) => Effect.Effect<void, unknown, R>) | undefined,
  process: ProcessInfo,
  name: string
) =>
  hook === undefined
    ? Effect.void
    : Effect.catchAllCause(hook(process), (cause) => Effect.logError(`steady-queue: the ${name} hook failed`, cause))

/** Runs `start` and its hooks; the stop hook runs when the scope closes, after the process has stopped. */
const withHooks = <R, R2>(
  kind: ProcessInfo["kind"],
  start: Effect.Effect<number, never, R2>,
  onStart: Hooks<R>["onStart"],
  onStop: Hooks<R>["onStop"]
) =>
  Effect.gen(function*() {
    let info: ProcessInfo | undefined
    yield* Effect.addFinalizer(() => (info ? runHook(onStop, info, `${kind} stop`) : Effect.void))
    const id = yield* start
    info = { kind, id }
    yield* runHook(onStart, info, `${kind} start`)
    return id
  })

const expandWorkers = (config: QueueConfig.QueueConfig) =>
  config.workers.flatMap((w, index) => Array.from({ length: w.processes }, () => ({ w, index })))

const workerOptions = (config: QueueConfig.QueueConfig, w: QueueConfig.WorkerConfig, supervisorId: number) => ({
  ...Worker.fromConfig(w),
  supervisorId,
  heartbeatInterval: config.processHeartbeatInterval,
  aliveThreshold: config.processAliveThreshold,
  preserveFinishedJobs: config.preserveFinishedJobs,
  shutdownTimeout: config.shutdownTimeout,
  retry: QueueConfig.retryPolicy(config)
})

const schedulerOptions = (config: QueueConfig.QueueConfig, scheduler: QueueConfig.SchedulerConfig, supervisorId: number) => ({
  pollingInterval: scheduler.pollingInterval,
  supervisorId,
  heartbeatInterval: config.processHeartbeatInterval
})

const startScheduler = <R>(config: QueueConfig.QueueConfig, scheduler: QueueConfig.SchedulerConfig, supervisorId: number, hooks: Hooks<R>) =>
  withHooks("Scheduler", Scheduler.start(schedulerOptions(config, scheduler, supervisorId)), hooks.onSchedulerStart, hooks.onSchedulerStop)

const dispatcherOptions = (config: QueueConfig.QueueConfig, d: QueueConfig.DispatcherConfig, supervisorId: number) => ({
  ...Dispatcher.fromConfig(d),
  supervisorId,
  heartbeatInterval: config.processHeartbeatInterval
})

/** Async mode: every worker and dispatcher in a scope of its own, all closed at once on shutdown. */
const startInProcess = <R>(config: QueueConfig.QueueConfig, supervisorId: number, hooks: Hooks<R>) =>
  Effect.gen(function*() {
    // One `shutdownTimeout` for all of them, not one per worker.
    const children: Array<Scope.CloseableScope> = []
    yield* Effect.addFinalizer((exit) =>
      Effect.forEach(children, (scope) => Scope.close(scope, exit), { concurrency: "unbounded", discard: true })
    )
    const inChildScope = <A, R2>(effect: Effect.Effect<A, never, R2 | Scope.Scope>) =>
      Effect.flatMap(Scope.make(), (scope) => {
        children.push(scope)
        return Scope.extend(effect, scope)
      })
    const dispatcherIds = yield* Effect.forEach(config.dispatchers, (d) =>
      inChildScope(withHooks("Dispatcher", Dispatcher.start(dispatcherOptions(config, d, supervisorId)), hooks.onDispatcherStart, hooks.onDispatcherStop)))
    const workerIds = yield* Effect.forEach(expandWorkers(config), ({ w }) =>
      inChildScope(withHooks("Worker", Worker.start(workerOptions(config, w, supervisorId)), hooks.onWorkerStart, hooks.onWorkerStop)))
    const schedulerId = config.scheduler === null
      ? null
      : yield* inChildScope(startScheduler(config, config.scheduler, supervisorId, hooks))
    return { workerIds, dispatcherIds, schedulerId }
  })

/** Fork mode, in the supervisor: one child per worker process and per dispatcher. */
const startForked = (config: QueueConfig.QueueConfig, supervisorId: number) =>
  Effect.gen(function*() {
    const roles: Array<Fork.Role> = [
      ...config.dispatchers.map((_, index) => ({ kind: "dispatcher" as const, index })),
      ...expandWorkers(config).map(({ index }) => ({ kind: "worker" as const, index })),
      ...(config.scheduler === null ? [] : [{ kind: "scheduler" as const, index: 0 }])
    ]
    const children = yield* Fork.supervise(roles, supervisorId, QueueConfig.retryPolicy(config))
    yield* Effect.addFinalizer(() => children.stop(config.shutdownTimeout))
    return { workerIds: [], dispatcherIds: [], schedulerId: null }
  })

/** Fork mode, in a child: the one worker or dispatcher this process was started for. */
const startChild = <R>(config: QueueConfig.QueueConfig, role: Fork.Role & { readonly supervisorId: number }, hooks: Hooks<R>) =>
  Effect.gen(function*() {
    yield* Fork.watchParent
    if (role.kind === "worker") {
      const w = config.workers[role.index]
      const id = yield* withHooks("Worker", Worker.start(workerOptions(config, w, role.supervisorId)), hooks.onWorkerStart, hooks.onWorkerStop)
      return { supervisorId: role.supervisorId, workerIds: [id], dispatcherIds: [], schedulerId: null }
    }
    if (role.kind === "scheduler") {
      const id = yield* startScheduler(config, config.scheduler ?? { pollingInterval: QueueConfig.defaults.schedulerPollingInterval }, role.supervisorId, hooks)
      return { supervisorId: role.supervisorId, workerIds: [], dispatcherIds: [], schedulerId: id }
    }
    const d = config.dispatchers[role.index]
    const id = yield* withHooks("Dispatcher", Dispatcher.start(dispatcherOptions(config, d, role.supervisorId)), hooks.onDispatcherStart, hooks.onDispatcherStop)
    return { supervisorId: role.supervisorId, workerIds: [], dispatcherIds: [id], schedulerId: null }
  })

/** Starts the supervisor (or, in a forked child, its one role) in the current scope. */
export const start = <R = never>(
  config: QueueConfig.QueueConfig,
  hooks: Hooks<R> = {}
): Effect.Effect<Running, SupervisorAlreadyRunningError, Requirements | R> =>
  provideInternals(Effect.gen(function*() {
    const role = config.mode === "fork" ? Fork.currentRole() : Option.none()
    // Built first in this scope, so it is closed last: a signal during the shutdown still meets a handler.
    const signals = yield* Layer.build(Signals.ShutdownSignals.layer({ escalates: Option.isNone(role) }))
    return yield* (Option.isSome(role) ? startChild(config, role.value, hooks) : startSupervisor(config, hooks)).pipe(
      Effect.provide(signals)
    )
  }))

/** The supervisor proper: its row, pruning, and its workers and dispatchers (async mode) or children (fork mode). */
const startSupervisor = <R>(config: QueueConfig.QueueConfig, hooks: Hooks<R>) =>
  Effect.gen(function*() {
    if (config.supervisorPidfile !== null) {
      yield* Pidfile.acquire(config.supervisorPidfile).pipe(Effect.provide(NodeFileSystem.layer))
    }
    const supervisorId = yield* withHooks("Supervisor", register({
      kind: "Supervisor",
      name: randomName("Supervisor"),
      supervisorId: null,
      metadata: { mode: config.mode, workers: config.workers.length, dispatchers: config.dispatchers.length },
      heartbeatInterval: config.processHeartbeatInterval
    }), hooks.onStart, hooks.onStop)

    // Maintenance: prune at start (what the last run left behind) and at every heartbeat interval.
    yield* pruneDeadProcesses(config.processAliveThreshold, supervisorId, QueueConfig.retryPolicy(config)).pipe(
      Effect.catchAll((e) => Effect.logWarning("steady-queue: pruning failed", e)),
      Effect.repeat(Schedule.spaced(config.processHeartbeatInterval)),
      Effect.forkScoped
    )

    const { dispatcherIds, schedulerId, workerIds } = config.mode === "fork"
      ? yield* startForked(config, supervisorId)
      : yield* startInProcess(config, supervisorId, hooks)
    yield* Effect.logInfo(
      `steady-queue: supervisor ${supervisorId} (${config.mode} mode) running ${expandWorkers(config).length} worker(s), ${config.dispatchers.length} dispatcher(s) and ${config.scheduler === null ? "no" : "a"} scheduler`
    )
    return { supervisorId, workerIds, dispatcherIds, schedulerId }
  })

/** The supervisor as a layer; with no configuration it runs the seeds' default worker and dispatcher. */
export const layer = <R = never>(
  config: QueueConfig.QueueConfigInput = {},
  hooks: Hooks<R> = {}
): Layer.Layer<never, InvalidConfigError | SupervisorAlreadyRunningError, Exclude<Requirements, Scope.Scope> | R> =>
  Layer.scopedDiscard(Effect.flatMap(QueueConfig.make(config), (c) => start(c, hooks)))

