/**
 * A worker: polls its queues, claims at most as many jobs as it has free threads, runs each in a fiber, and
 * writes outcomes back, finishing successful jobs in batches. Closing its scope shuts it down gracefully.
 */
import { Cause, Clock, Duration, Effect, Exit, Fiber, FiberSet, Queue, type Scope } from "effect"
import type { JobDescription } from "./CurrentJob.js"
import { UnknownTaskError } from "./Errors.js"
import { JobError } from "./JobError.js"
import { JobEvent, JobEvents } from "./JobEvents.js"
import { defaults, type WorkerConfig } from "./QueueConfig.js"
import { TaskRegistry } from "./TaskRegistry.js"
import * as Finisher from "./internal/Finisher.js"
import * as Liveness from "./internal/Liveness.js"
import { randomName, registerRow, writeRetry } from "./internal/ProcessRow.js"
import * as QueueSelector from "./internal/QueueSelector.js"
import { awaitQuit } from "./internal/Signals.js"
import type { JobRow } from "./internal/sql/rows.js"
import { provideInternals } from "./internal/RuntimeContext.js"
import { Store } from "./internal/Store.js"
import { Wakeup } from "./internal/Wakeup.js"
import type { Runtime } from "./Runtime.js"

export interface WorkerOptions {
  readonly queues?: ReadonlyArray<string>
  readonly threads?: number
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
}

export const fromConfig = (config: WorkerConfig): WorkerOptions => ({
  queues: config.queues,
  threads: config.threads,
  pollingInterval: config.pollingInterval
})

const describe = (row: JobRow): JobDescription => ({
  id: row.id,
  publicId: row.public_id,
  taskName: row.task_name,
  queueName: row.queue_name,
  priority: row.priority,
  attempts: row.attempts,
  scheduledAt: new Date(row.scheduled_at),
  enqueuedAt: new Date(row.created_at),
  concurrency: row.concurrency_key === null ? null : { key: row.concurrency_key, limit: row.concurrency_limit ?? 1 }
})

/**
 * Starts a worker in the current scope and returns its process id. When the scope closes the worker stops
 * polling, gives running jobs up to `shutdownTimeout` to finish, interrupts the rest, writes the outcomes it
 * has, and puts every job it still holds back in ready before it deregisters.
 */
export const start = (
  options: WorkerOptions = {}
): Effect.Effect<number, never, Scope.Scope | Runtime | TaskRegistry | JobEvents> =>
  provideInternals(Effect.gen(function*() {
    const store = yield* Store
    const registry = yield* TaskRegistry
    const events = yield* JobEvents
    const threads = options.threads ?? defaults.workerThreads
    const pollingInterval = options.pollingInterval ?? defaults.workerPollingInterval
    const preserve = options.preserveFinishedJobs ?? defaults.preserveFinishedJobs
    const parsed = QueueSelector.parse(options.queues ?? defaults.workerQueues)
    if (parsed.ignored.length > 0) {
      yield* Effect.logWarning(`steady-queue: ignoring queue names with a '*' that is not at the end: ${parsed.ignored.join(", ")}`)
    }

    const heartbeatInterval = options.heartbeatInterval ?? defaults.processHeartbeatInterval
    const registered = yield* registerRow({
      kind: "Worker",
      name: options.name ?? randomName("Worker"),
      supervisorId: options.supervisorId ?? null,
      metadata: { queues: options.queues ?? defaults.workerQueues, threads, pollingInterval: Duration.toMillis(pollingInterval) },
      heartbeatInterval
    }, (id) =>
      // Last step of shutdown: whatever is still claimed by this worker goes back to ready.
      Effect.flatMap(Clock.currentTimeMillis, (now) => store.claimed.release(undefined, id, now)).pipe(
        Effect.retry(writeRetry),
        Effect.tap((released) =>
          released.length > 0 ? Effect.logInfo(`steady-queue: released ${released.length} unfinished job(s) back to ready`) : Effect.void
        ),
        Effect.catchAllCause((e) => Effect.logError("steady-queue: could not release claimed jobs; pruning will fail them", e)),
        Effect.asVoid
      ))
    const processId = registered.id
    const liveness = yield* Liveness.make({
      aliveThreshold: options.aliveThreshold ?? defaults.processAliveThreshold,
      heartbeatInterval
    })

    // Running job fibers by job id, and the jobs among them that are no longer this worker's (pruned, or
    // stopped for want of liveness): their handlers are interrupted and they write no outcome.
    const running = new Map<number, Fiber.RuntimeFiber<void>>()
    const lost = new Set<number>()
    const interruptHandler = (jobId: number, fiber: Fiber.RuntimeFiber<void>) =>
      Effect.suspend(() => {
        lost.add(jobId)
        return Fiber.interruptFork(fiber)
      })

    /** Stops the handlers of running jobs whose claim is gone; jobs claimed after the check began are left alone. */
    const dropLost = Effect.gen(function*() {
      const snapshot = [...running]
      if (snapshot.length === 0) return
      const owned = new Set(yield* Liveness.attempt(store.ownership.claimedBy(processId), liveness.attemptTimeout))
      for (const [jobId, fiber] of snapshot) {
        if (owned.has(jobId) || running.get(jobId) !== fiber) continue
        yield* Effect.logWarning(`steady-queue: job ${jobId} is no longer claimed by this worker; its handler is interrupted`)
        yield* interruptHandler(jobId, fiber)
      }
    }).pipe(Effect.catchAllCause((cause) => Effect.logWarning("steady-queue: could not check which jobs this worker still holds", cause)))

    const completions = yield* Finisher.start({
      processId,
      preserveFinishedJobs: preserve,
      liveness,
      onFenced: () => dropLost
    })

    // Retried until written, like successes; a failure that cannot be written stops the worker through its
    // liveness. Interrupted (shutdown past its timeout, or the worker stopping), the job is left to the release
    // or to pruning.
    const fail = (job: JobDescription, error: JobError) =>
      Effect.gen(function*() {
        yield* Liveness.outcomePending(liveness, job.id)
        const recorded = yield* Liveness.retryWrite(
          Effect.flatMap(Clock.currentTimeMillis, (now) => store.claimed.fail(job, processId, JobError.encodeJson(error), now)),
          {
            timeout: liveness.attemptTimeout,
            schedule: Liveness.untilWritten,
            merge: (a, late) => a || late,
            onFailure: (e) => Effect.logWarning(`steady-queue: could not record the failure of job ${job.id}; retrying`, e)
          }
        )
        if (recorded) {
          yield* events.publish(JobEvent.Finished({ job, processId, outcome: "failed", error }))
        }
        else {
          yield* Effect.logWarning(`steady-queue: job ${job.id} was no longer claimed by this worker; its failure was not recorded`)
          yield* dropLost
        }
      }).pipe(
        Effect.ensuring(Liveness.settle(liveness, [job.id])),
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause) ? Effect.interrupt : Effect.logError(`steady-queue: could not record the failure of job ${job.id}`, cause)
        )
      )

    // Only the handler, and a failure write that is retrying, can be interrupted: once a handler has succeeded, its
    // outcome is always handed on, so a shutdown cannot release (and so re-run) a job that already succeeded.
    const perform = (row: JobRow) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          const job = describe(row)
          yield* events.publish(JobEvent.Started({ job, processId }))
          const handler = registry.get(row.task_name)
          const exit = handler === undefined
            ? Exit.fail(new UnknownTaskError({ taskName: row.task_name, message: `no handler is registered for task "${row.task_name}"` }))
            : yield* Effect.exit(restore(handler.run(row.arguments, job)))
          if (Exit.isSuccess(exit)) yield* completions.offer(job)
          // Interrupted by the worker's shutdown: the claim is released back to ready. Interrupted because the job
          // is no longer this worker's: nothing to write. Interrupted otherwise (the handler interrupted itself):
          // a failure like any other.
          else if (!((stopping || lost.has(job.id)) && Cause.isInterruptedOnly(exit.cause))) {
            yield* restore(fail(job, JobError.fromCause(exit.cause)))
          }
        })
      )

    // Set when shutdown begins; tells the worker's own interruptions from a handler's.
    let stopping = false
    // Job fibers; `inFlight` is only raised by the poll loop, so reading it there never over-claims.
    const jobs = yield* FiberSet.make<void>()
    let inFlight = 0
    const slotFreed = yield* Queue.sliding<void>(1)
    const wakeups = yield* Effect.flatMap(Wakeup, (w) => w.listen)

    const claimFrom = (names: ReadonlyArray<string>, limit: number, now: number) =>
      Effect.gen(function*() {
        const claimed: Array<JobRow> = []
        for (const name of names) {
          if (claimed.length >= limit) break
          claimed.push(...(yield* store.claim(name, limit - claimed.length, processId, now)))
        }
        return claimed
      })

    // Where the claim statement guards against paused queues, the pauses are read only when the all-queues
    // claim comes back empty; elsewhere they are read before every poll.
    const poll = (limit: number) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        if (parsed.all && store.claimGuardsPauses) {
          const claimed = yield* store.claim(undefined, limit, processId, now)
          if (claimed.length > 0) return claimed
        }
        const paused = parsed.all || !store.claimGuardsPauses ? yield* store.queues.paused : []
        const selection = yield* QueueSelector.resolve(parsed, paused, store.queues.readyQueueNames)
        if (selection._tag === "List") return yield* claimFrom(selection.names, limit, now)
        return parsed.all && store.claimGuardsPauses ? [] : yield* store.claim(undefined, limit, processId, now)
      })

    const idle = Effect.raceFirst(Queue.take(wakeups), Effect.sleep(pollingInterval))
    // Open while the worker is live; closed, it claims nothing.
    const claiming = yield* Effect.makeLatch(true)

    const loop = Effect.gen(function*() {
      while (true) {
        yield* claiming.await
        const free = threads - inFlight
        if (free <= 0) {
          yield* Queue.take(slotFreed)
          // Jobs that end together free their slots together: let them, and claim for all at once. The outcomes
          // of those jobs get their turn at the database first (their writes start in a fiber of their own).
          for (let i = 0; i < 4; i++) yield* Effect.yieldNow()
          continue
        }
        const claimed = yield* poll(free).pipe(
          // Defects too: the poll loop must outlive anything a single poll can throw.
          Effect.catchAllCause((cause) =>
            Cause.isInterruptedOnly(cause)
              ? Effect.failCause(cause)
              : Effect.as(Effect.logWarning("steady-queue: polling failed", cause), [] as ReadonlyArray<JobRow>)
          )
        )
        // Stopped while polling: what it claimed is not started; it is released when the worker recovers, or
        // failed by pruning.
        if (liveness.stalled) continue
        for (const row of claimed) {
          inFlight++
          const fiber = yield* FiberSet.run(jobs, perform(row).pipe(
            Effect.ensuring(Effect.suspend(() => {
              inFlight--
              running.delete(row.id)
              lost.delete(row.id)
              return Queue.offer(slotFreed, undefined)
            }))
          ))
          if (fiber.unsafePoll() === null) running.set(row.id, fiber)
        }
        if (claimed.length < free) yield* idle
      }
    })
    const poller = yield* Effect.forkDaemon(loop)

    yield* Liveness.watch(liveness, {
      processId,
      heartbeat: registered.heartbeat,
      registerAgain: registered.registerAgain,
      stop: (reason) =>
        Effect.gen(function*() {
          yield* claiming.close
          yield* Effect.logError(
            `steady-queue: worker ${processId} stops its ${running.size} running job(s), claims nothing and stops heartbeating: ${reason}; ` +
              `pruning will fail the jobs it holds unless it recovers first`
          )
          for (const [jobId, fiber] of running) yield* interruptHandler(jobId, fiber)
        }),
      idle: Effect.sync(() => inFlight === 0),
      releaseHeld: (now) =>
        Effect.flatMap(store.claimed.release(undefined, processId, now), (released) =>
          released.length > 0 ? Effect.logInfo(`steady-queue: released ${released.length} job(s) of stopped handlers back to ready`) : Effect.void),
      dropLost,
      resume: claiming.open
    }, heartbeatInterval)

    const shutdownTimeout = options.shutdownTimeout ?? defaults.shutdownTimeout
    // Added last, so it runs first: stop polling, then let running jobs finish within the shutdown timeout.
    // The FiberSet's own finalizer interrupts what is left; the claims of those go back to ready.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => (stopping = true)).pipe(
        Effect.zipRight(Fiber.interrupt(poller)),
        Effect.zipRight(
          // SIGQUIT, or a second SIGTERM/SIGINT, cuts the grace period short.
          Effect.raceFirst(FiberSet.awaitEmpty(jobs), awaitQuit).pipe(Effect.interruptible, Effect.timeoutOption(shutdownTimeout))
        )
      )
    )
    return processId
  }))
