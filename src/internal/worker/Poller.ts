/**
 * A worker's poll loop: while claiming is open it claims at most as many jobs as the worker has free threads,
 * from its queues in order and leaving paused ones out, starts each in a fiber of its own, and when it found
 * fewer jobs than it could take, waits for a wake-up (a local enqueue or dispatch; on PostgreSQL, jobs made ready
 * by any process) or the polling interval.
 */
import { Cause, Clock, type Duration, Effect, Fiber, FiberSet, Queue, type Scope } from "effect"
import * as QueueSelector from "../QueueSelector.js"
import type { JobRow } from "../sql/rows.js"
import { Store } from "../Store.js"
import { Notices } from "../Notices.js"
import { Wakeup } from "../Wakeup.js"
import type { Perform } from "./Performer.js"
import * as Running from "./Running.js"
import { hotSpan } from "../spans.js"

export interface Poller {
  /** Ends the poll loop for good (the first step of shutdown). */
  readonly stop: Effect.Effect<void>
  /** Stops claiming (the worker is stopped for want of liveness); jobs already started run on. */
  readonly pause: Effect.Effect<void>
  /** Claims again. */
  readonly resume: Effect.Effect<void>
  /** Waits until no job fiber is left. */
  readonly awaitIdle: Effect.Effect<void>
}

export const start = (options: {
  readonly processId: number
  readonly queues: QueueSelector.ParsedQueues
  readonly threads: number
  readonly pollingInterval: Duration.DurationInput
  readonly running: Running.Running
  /** Whether the worker is stopped for want of liveness: what a poll claimed then is not started. */
  readonly stalled: () => boolean
  /** Whether a job's outcome is handed on but not yet written (its claim is still held, on purpose). */
  readonly outcomePending: (jobId: number) => boolean
  readonly perform: Perform
}): Effect.Effect<Poller, never, Store | Wakeup | Notices | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* Store
    const { processId, queues, running, threads } = options
    // Job fibers: when the scope closes, whatever still runs is interrupted and its claim released.
    const jobs = yield* FiberSet.make<void>()
    const wakeups = yield* Effect.flatMap(Wakeup, (w) => w.listen)
    // Jobs made ready by other processes (PostgreSQL's NOTIFY; elsewhere this never fires and polling finds them).
    const readyElsewhere = yield* Effect.flatMap(Notices, (n) => n.onReady)
    // Open while the worker is live; closed, it claims nothing.
    const claiming = yield* Effect.makeLatch(true)

    // The claim span's `queues` attribute: the selectors, as configured.
    const queueNames = queues.all ? "*" : queues.entries.map((e) => e._tag === "Exact" ? e.name : `${e.prefix}*`).join(",")

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
        if (queues.all && store.claimGuardsPauses) {
          const claimed = yield* store.claim(undefined, limit, processId, now)
          if (claimed.length > 0) return claimed
        }
        const paused = queues.all || !store.claimGuardsPauses ? yield* store.queues.paused : []
        const selection = yield* QueueSelector.resolve(queues, paused, store.queues.readyQueueNames)
        if (selection._tag === "List") return yield* claimFrom(selection.names, limit, now)
        return queues.all && store.claimGuardsPauses ? [] : yield* store.claim(undefined, limit, processId, now)
      }).pipe(
        hotSpan("steady-queue.claim", { attributes: { queues: queueNames, batchSize: limit } }, (claimed) => ({ claimed: claimed.length }))
      )

    const launch = (row: JobRow) =>
      Effect.gen(function*() {
        running.inFlight++
        const fiber = yield* FiberSet.run(jobs, Effect.ensuring(options.perform(row), Running.ended(running, row.id)))
        if (fiber.unsafePoll() === null) running.fibers.set(row.id, fiber)
      })

    /**
     * A poll that failed may have claimed all the same: the claim committed and its answer was lost (a connection
     * cut during the commit). Those jobs are held by this live process, so no pruning would ever free them. Before
     * the next claim (none is in flight, the loop is the only claimer) every claim this worker holds that runs
     * nowhere here and has no outcome on its way goes back to ready. True when that is done.
     */
    const recoverLostClaims = Effect.gen(function*() {
      const held = yield* store.ownership.claimedBy(processId)
      const lost = held.filter((id) => !running.fibers.has(id) && !options.outcomePending(id))
      if (lost.length === 0) return
      const released = yield* store.claimed.release(lost, processId, yield* Clock.currentTimeMillis)
      if (released.length > 0) {
        yield* Effect.logWarning(`steady-queue: ${released.length} job(s) claimed by a poll whose answer was lost went back to ready`)
      }
    }).pipe(
      Effect.as(true),
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.failCause(cause)
          : Effect.as(Effect.logWarning("steady-queue: could not check this worker's claims after a failed poll", cause), false)
      )
    )

    const idle = Effect.raceAll([
      Queue.take(wakeups),
      Effect.asVoid(Queue.take(readyElsewhere)),
      Effect.sleep(options.pollingInterval)
    ])

    const loop = Effect.gen(function*() {
      let pollFailed = false
      while (true) {
        yield* claiming.await
        if (pollFailed && !options.stalled()) pollFailed = !(yield* recoverLostClaims)
        const free = threads - running.inFlight
        if (free <= 0) {
          yield* Queue.take(running.slotFreed)
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
              : Effect.as(
                Effect.zipRight(Effect.sync(() => (pollFailed = true)), Effect.logWarning("steady-queue: polling failed", cause)),
                [] as ReadonlyArray<JobRow>
              )
          )
        )
        // Stopped while polling: what it claimed is not started; it is released when the worker recovers, or
        // failed by pruning.
        if (options.stalled()) continue
        for (const row of claimed) yield* launch(row)
        if (claimed.length < free) yield* idle
      }
    })
    // Not scoped: shutdown interrupts it first, before the grace period, and the scope's finalizers come after.
    const fiber = yield* Effect.forkDaemon(loop)
    return { stop: Fiber.interrupt(fiber).pipe(Effect.asVoid), pause: claiming.close, resume: claiming.open, awaitIdle: FiberSet.awaitEmpty(jobs) }
  })
