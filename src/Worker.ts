/**
 * A worker: polls its queues, claims jobs for its free threads and, ahead of them, for a local buffer (`prefetch`),
 * runs each in a fiber, and writes outcomes back, finishing successful jobs in batches. Closing its scope shuts
 * it down gracefully.
 * The parts live in internal/worker: the poller, the performer (one job's run), the running jobs' state and the
 * shutdown; the Finisher writes successes and the Liveness stops a worker that cannot show it is alive.
 */
import { Duration, Effect, type Scope } from "effect"
import type { JobEvents } from "./JobEvents.js"
import { defaults, type WorkerConfig } from "./QueueConfig.js"
import type { RetryPolicy, TaskRegistry } from "./TaskRegistry.js"
import * as RetryPolicies from "./internal/RetryPolicy.js"
import * as CancelWatch from "./internal/worker/CancelWatch.js"
import * as Finisher from "./internal/Finisher.js"
import * as Liveness from "./internal/Liveness.js"
import { randomName, registerRow } from "./internal/ProcessRow.js"
import * as QueueSelector from "./internal/QueueSelector.js"
import { provideInternals } from "./internal/RuntimeContext.js"
import { Store } from "./internal/Store.js"
import * as Performer from "./internal/worker/Performer.js"
import * as Poller from "./internal/worker/Poller.js"
import * as Running from "./internal/worker/Running.js"
import * as Shutdown from "./internal/worker/Shutdown.js"
import type { Runtime } from "./Runtime.js"

export interface WorkerOptions {
  readonly queues?: ReadonlyArray<string>
  readonly threads?: number
  /**
   * Jobs claimed ahead, beyond the free threads, and started as threads come free. By default (`"auto"`) as many
   * as the worker finished in the last tenth of a second, at most 500: short jobs are claimed hundreds at a time,
   * jobs longer than that only for free threads. Larger claims make short jobs cheaper; a job claimed ahead waits
   * behind the buffer, even if a job of higher priority arrives meanwhile. 0 always claims only for free threads
   * (Solid Queue's behaviour).
   */
  readonly prefetch?: number | "auto"
  readonly pollingInterval?: Duration.DurationInput
  readonly name?: string
  readonly supervisorId?: number | null
  readonly preserveFinishedJobs?: boolean
  readonly shutdownTimeout?: Duration.DurationInput
  readonly heartbeatInterval?: Duration.DurationInput
  /**
   * The supervisors' `processAliveThreshold`. A worker that cannot heartbeat or write outcomes for about this
   * long stops its handlers, claims nothing and stops heartbeating, so that pruning takes its jobs.
   */
  readonly aliveThreshold?: Duration.DurationInput
  /** The retry policy of tasks that have none of their own (default: no retries). */
  readonly retry?: RetryPolicy
}

export const fromConfig = (config: WorkerConfig): WorkerOptions => ({
  queues: config.queues,
  threads: config.threads,
  ...(config.prefetch === undefined ? {} : { prefetch: config.prefetch }),
  pollingInterval: config.pollingInterval
})

/**
 * Starts a worker in the current scope and returns its process id. When the scope closes the worker stops
 * polling, gives running jobs up to `shutdownTimeout` to finish, interrupts the rest, writes the outcomes it
 * has, and puts every job it still holds back in ready before it deregisters (see internal/worker/Shutdown.ts).
 */
export const start = (
  options: WorkerOptions = {}
): Effect.Effect<number, never, Scope.Scope | Runtime | TaskRegistry | JobEvents> =>
  provideInternals(Effect.gen(function*() {
    const store = yield* Store
    const threads = options.threads ?? defaults.workerThreads
    // The configuration validates it; a number given here directly is read as a non-negative integer.
    const prefetch = typeof options.prefetch === "number" && Number.isFinite(options.prefetch)
      ? Math.max(0, Math.floor(options.prefetch))
      : "auto"
    const pollingInterval = options.pollingInterval ?? defaults.workerPollingInterval
    const queues = QueueSelector.parse(options.queues ?? defaults.workerQueues)
    if (queues.ignored.length > 0) {
      yield* Effect.logWarning(`steady-queue: ignoring queue names with a '*' that is not at the end: ${queues.ignored.join(", ")}`)
    }

    const heartbeatInterval = options.heartbeatInterval ?? defaults.processHeartbeatInterval
    // Each resource below is released in the reverse order: the order of these steps is the order of shutdown.
    const registered = yield* registerRow({
      kind: "Worker",
      name: options.name ?? randomName("Worker"),
      supervisorId: options.supervisorId ?? null,
      metadata: { queues: options.queues ?? defaults.workerQueues, threads, prefetch, pollingInterval: Duration.toMillis(pollingInterval) },
      heartbeatInterval
    }, (id) => Shutdown.releaseHeld(store, id))
    const processId = registered.id
    const aliveThreshold = options.aliveThreshold ?? defaults.processAliveThreshold
    const liveness = yield* Liveness.make({ aliveThreshold, heartbeatInterval })
    const running = yield* Running.make
    const dropLost = Running.dropLost(running, store.ownership.claimedBy(processId), liveness.attemptTimeout)
    const finisher = yield* Finisher.start({
      processId,
      preserveFinishedJobs: options.preserveFinishedJobs ?? defaults.preserveFinishedJobs,
      liveness,
      onFenced: () => dropLost
    })
    const perform = yield* Performer.make({
      processId,
      running,
      finisher,
      liveness,
      dropLost,
      defaultRetry: options.retry ?? RetryPolicies.never
    })
    const poller = yield* Poller.start({
      processId,
      queues,
      threads,
      prefetch,
      // Well before pruning could have given a buffered job to another worker.
      verifyAfterMs: Math.min(Duration.toMillis(aliveThreshold), Duration.toMillis(heartbeatInterval)) / 2,
      pollingInterval,
      running,
      stalled: () => liveness.stalled,
      outcomePending: (jobId) => liveness.pending.has(jobId),
      perform,
      recordStarts: finisher.started
    })

    yield* CancelWatch.start({ processId, running })

    yield* Liveness.watch(liveness, {
      processId,
      heartbeat: registered.heartbeat,
      registerAgain: registered.registerAgain,
      stop: (reason) =>
        Effect.gen(function*() {
          yield* poller.pause
          yield* Effect.logError(
            `steady-queue: worker ${processId} stops its ${running.runs.size} running job(s), claims nothing and stops heartbeating: ${reason}; ` +
              `pruning will fail the jobs it holds unless it recovers first`
          )
          yield* Running.dropAll(running)
        }),
      idle: Effect.sync(() => running.inFlight === 0),
      releaseHeld: (now) => Shutdown.releaseStopped(store, processId, now),
      dropLost,
      resume: poller.resume
    }, heartbeatInterval)

    yield* Shutdown.graceful({ running, poller, shutdownTimeout: options.shutdownTimeout ?? defaults.shutdownTimeout })
    return processId
  }))
