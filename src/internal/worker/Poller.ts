/**
 * A worker's poll loop. While claiming is open it keeps up to `threads + prefetch` jobs: the ones running and a
 * local buffer of jobs claimed ahead. It claims when the buffer runs low (at most half full), from its queues in
 * order and leaving paused ones out, so that claims are large and overlap with running jobs; it starts buffered
 * jobs as threads come free, each on one of the worker's threads (Threads.ts); a thread that ends a job takes the
 * next buffered one itself when no check is due (see `nextBuffered`). When a claim found fewer jobs than it asked
 * for and nothing is buffered, it waits for a wake-up (a local enqueue or dispatch; on PostgreSQL, jobs made ready
 * by any process) or the polling interval (on PostgreSQL, backing off to ten intervals while nothing comes).
 *
 * A buffered job is claimed but not started: its claim says so until it starts (the claim of the first jobs of a
 * poll says they start at once; later starts are recorded with the next write of outcomes). The claims a process
 * never started go back to ready when it dies, and at shutdown before anything else. A queue paused while its
 * jobs are buffered gets them back (the pauses are read again every polling interval while jobs are buffered).
 */
import { Cause, Clock, Deferred, Duration, Effect, Exit, Fiber, Queue, type Scope } from "effect"
import * as QueueSelector from "../QueueSelector.js"
import type { JobRow } from "../sql/rows.js"
import { Store } from "../Store.js"
import { Notices } from "../Notices.js"
import { Wakeup } from "../Wakeup.js"
import type { Perform } from "./Performer.js"
import * as Prefetch from "./Prefetch.js"
import * as Running from "./Running.js"
import * as Threads from "./Threads.js"
import { hotSpan } from "../spans.js"

export interface Poller {
  /** Ends the poll loop for good (the first step of shutdown, once `running.stopping` is set). */
  readonly stop: Effect.Effect<void>
  /** Stops claiming (the worker is stopped for want of liveness); jobs already started run on. */
  readonly pause: Effect.Effect<void>
  /** Claims again. */
  readonly resume: Effect.Effect<void>
  /** Waits until no job is running. */
  readonly awaitIdle: Effect.Effect<void>
  /** Gives the jobs claimed ahead and not started back to ready (shutdown, once the loop has stopped). */
  readonly releaseBuffered: Effect.Effect<void>
}

/** How long an idle worker waits after `idlePolls` polls in a row found nothing: doubling, up to ten intervals. */
export const idleWaitMs = (pollingMs: number, idlePolls: number): number =>
  Math.min(pollingMs * 2 ** Math.min(idlePolls, 10), pollingMs * 10)

/** A job claimed ahead; `started` when its claim already says it started (the first jobs of a poll). */
interface Buffered {
  readonly row: JobRow
  readonly claimedAt: number
  readonly started: boolean
  /** The `step` of its claim: pauses read at a later step apply to it. */
  readonly step: number
}

export const start = (options: {
  readonly processId: number
  readonly queues: QueueSelector.ParsedQueues
  readonly threads: number
  /** Jobs claimed beyond the free threads, kept to start as threads come free: a number, or by the worker's pace. */
  readonly prefetch: Prefetch.Setting
  /** Buffered jobs held longer than this are checked against the database before they start (fencing). */
  readonly verifyAfterMs: number
  readonly pollingInterval: Duration.DurationInput
  readonly running: Running.Running
  /** Whether the worker is stopped for want of liveness: what a poll claimed then is not started. */
  readonly stalled: () => boolean
  /** Whether a job's outcome is handed on but not yet written (its claim is still held, on purpose). */
  readonly outcomePending: (jobId: number) => boolean
  readonly perform: Perform
  /** Records the starts of buffered jobs with the next write of outcomes (synchronously: it only queues them). */
  readonly recordStarts: (jobIds: ReadonlyArray<number>, startedAt: number) => void
}): Effect.Effect<Poller, never, Store | Wakeup | Notices | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* Store
    const { processId, queues, running, threads } = options
    const prefetchAt = Prefetch.make(options.prefetch)
    const pollingMs = Duration.toMillis(options.pollingInterval)
    // How often the pauses are read again while jobs are buffered: the polling interval, but not more often than
    // every 100 ms (a pause reaches buffered jobs within that).
    const pausesEveryMs = Math.max(pollingMs, 100)
    const clock = yield* Effect.clock
    const wakeups = yield* Effect.flatMap(Wakeup, (w) => w.listen)
    // Open while the worker is live; closed, it claims nothing.
    const claiming = yield* Effect.makeLatch(true)
    // Claimed ahead, in claim order, not started; `head` is the next to start.
    let buffer: Array<Buffered> = []
    let head = 0
    const buffered = () => buffer.length - head
    // The paused queues as last read, when, and at which step (claims and reads of the pauses count steps: a
    // claim leaves paused queues alone, so a pause read before a claim says nothing of the jobs it claimed).
    let paused = new Set<string>()
    let pausesReadAt = -Infinity
    let pausesStep = 0
    let step = 0

    // The claim span's `queues` attribute: the selectors, as configured.
    const queueNames = queues.all ? "*" : queues.entries.map((e) => e._tag === "Exact" ? e.name : `${e.prefix}*`).join(",")

    // The time of a claim is read just before it: a claim that waited (for the pauses, say) never records a start
    // earlier than the moment its jobs became ready.
    const claimNow = (queue: string | undefined, limit: number, startNow: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => store.claim(queue, limit, processId, now, startNow))

    const claimFrom = (names: ReadonlyArray<string>, limit: number, startNow: number) =>
      Effect.gen(function*() {
        const claimed: Array<JobRow> = []
        for (const name of names) {
          if (claimed.length >= limit) break
          const start = Math.max(0, startNow - claimed.length)
          claimed.push(...(yield* claimNow(name, limit - claimed.length, start)))
        }
        return claimed
      })

    const readPauses = (now: number) =>
      Effect.map(store.queues.paused, (names) => {
        paused = new Set(names)
        pausesReadAt = now
        pausesStep = ++step
        return names
      })

    // Where the claim statement guards against paused queues, the pauses are read only when the all-queues
    // claim comes back empty; elsewhere they are read before every poll. The first `startNow` jobs start at once.
    const poll = (limit: number, startNow: number, now: number) =>
      Effect.gen(function*() {
        if (queues.all && store.claimGuardsPauses) {
          const claimed = yield* claimNow(undefined, limit, startNow)
          if (claimed.length > 0) return claimed
        }
        const pausedNow = queues.all || !store.claimGuardsPauses ? yield* readPauses(now) : []
        const selection = yield* QueueSelector.resolve(queues, pausedNow, store.queues.readyQueueNames)
        if (selection._tag === "List") return yield* claimFrom(selection.names, limit, startNow)
        return queues.all && store.claimGuardsPauses ? [] : yield* claimNow(undefined, limit, startNow)
      }).pipe(
        hotSpan("steady-queue.claim", { attributes: { queues: queueNames, batchSize: limit } }, (claimed) => ({ claimed: claimed.length }))
      )

    const workFor = (row: JobRow, startedAt: number): Threads.Work => ({
      assigned: (thread) => void running.runs.set(row.id, { thread }),
      run: (restore) => options.perform(row, startedAt, restore),
      ended: () => Running.ended(running, row.id)
    })

    // The prefetch of the loop's last turn: a thread that takes the buffer down to the claiming mark wakes the loop,
    // once per claim.
    let lastPrefetch = 0
    let lowWoken = false

    /**
     * The next buffered job, for a thread that has just ended one, when it may start with no check: the pauses
     * were read less than an interval ago and its queue was not paused since its claim, and it was claimed
     * recently enough to be still this worker's. Anything else (and no job at all) is left to the loop.
     */
    const nextBuffered = (): Threads.Work | undefined => {
      // Shutdown sets `stopping` before it stops the loop: from then on the buffer is only given back.
      if (buffered() === 0 || running.stopping || options.stalled()) return undefined
      const now = clock.unsafeCurrentTimeMillis()
      const entry = buffer[head]
      if (now - pausesReadAt >= pausesEveryMs || pausedSince(entry) || heldLong(entry, now)) {
        return undefined
      }
      takeBuffered(1)
      running.inFlight++
      if (!entry.started) options.recordStarts([entry.row.id], now)
      if (!lowWoken && buffered() <= Math.floor(lastPrefetch / 2)) {
        lowWoken = true
        running.slotFreed.unsafeOffer(undefined)
      }
      return workFor(entry.row, now)
    }
    // When the scope closes, whatever still runs is interrupted and its claim released.
    const threadPool = yield* Threads.make({ next: nextBuffered, freed: () => running.slotFreed.unsafeOffer(undefined) })

    const launch = (row: JobRow, startedAt: number) =>
      Effect.suspend(() => {
        running.inFlight++
        return Effect.asVoid(threadPool.run(workFor(row, startedAt)))
      })

    /** Whether a buffered job was held long enough that its claim is checked before it starts (fencing). */
    const heldLong = (e: Buffered, now: number) => now - e.claimedAt >= options.verifyAfterMs

    /** Whether a buffered job's queue was paused after its claim, by the pauses as last read. */
    const pausedSince = (e: Buffered) => e.step < pausesStep && paused.has(e.row.queue_name)

    /** Takes up to `n` jobs off the buffer, in order. */
    const takeBuffered = (n: number) => {
      const taken = buffer.slice(head, head + n)
      head += taken.length
      if (head === buffer.length) {
        buffer = []
        head = 0
      }
      return taken
    }

    /** Gives buffered jobs back to ready; logged, not fatal: pruning or shutdown gives back what this cannot. */
    const giveBack = (entries: ReadonlyArray<Buffered>, why: string) =>
      entries.length === 0 ? Effect.void : Effect.flatMap(Clock.currentTimeMillis, (now) =>
        store.claimed.release(entries.map((e) => e.row.id), processId, now)).pipe(
          Effect.flatMap((released) => Effect.logDebug(`steady-queue: ${released.length} buffered job(s) went back to ready: ${why}`)),
          Effect.catchAllCause((cause) =>
            Cause.isInterruptedOnly(cause) ? Effect.interrupt : Effect.logWarning(`steady-queue: could not give buffered jobs back (${why})`, cause)
          )
        )

    /**
     * Buffered jobs held long enough that this worker may have been pruned meanwhile: only those still its own.
     * When that cannot be read, none: the claims are checked again before the next poll.
     */
    const stillOwned = (entries: ReadonlyArray<Buffered>, now: number) =>
      !entries.some((e) => heldLong(e, now))
        ? Effect.succeed(entries)
        : store.ownership.claimedBy(processId).pipe(
          Effect.map((held) => {
            const owned = new Set(held)
            return entries.filter((e) => owned.has(e.row.id))
          }),
          Effect.catchAll((e) =>
            Effect.as(
              Effect.zipRight(Effect.sync(() => (pollFailed = true)), Effect.logWarning("steady-queue: could not check buffered jobs' claims", e)),
              []
            )
          )
        )

    /**
     * Starts buffered jobs on the free threads. Jobs of queues paused since they were claimed go back to ready
     * (the pauses are read again when the last read is older than the polling interval).
     */
    const handOut = (now: number) =>
      Effect.gen(function*() {
        if (buffered() === 0 || threads - running.inFlight <= 0 || options.stalled()) return
        if (now - pausesReadAt >= pausesEveryMs) {
          yield* readPauses(now).pipe(Effect.catchAll((e) => Effect.logWarning("steady-queue: could not read paused queues", e)))
        }
        if (paused.size > 0) {
          const rest = buffer.slice(head)
          const stale = rest.filter(pausedSince)
          if (stale.length > 0) {
            yield* giveBack(stale, "their queue is paused")
            buffer = rest.filter((e) => !pausedSince(e))
            head = 0
          }
        }
        const next = yield* stillOwned(takeBuffered(threads - running.inFlight), now)
        const unmarked: Array<number> = []
        for (const entry of next) {
          if (!entry.started) unmarked.push(entry.row.id)
          yield* launch(entry.row, now)
        }
        options.recordStarts(unmarked, now)
      })

    /**
     * A poll that failed may have claimed all the same: the claim committed and its answer was lost (a connection
     * cut during the commit). Those jobs are held by this live process, so no pruning would ever free them. Before
     * the next claim (none is in flight, the loop is the only claimer) every claim this worker holds that runs
     * nowhere here, is not buffered and has no outcome on its way goes back to ready. True when that is done.
     */
    const recoverLostClaims = Effect.gen(function*() {
      const held = yield* store.ownership.claimedBy(processId)
      const inBuffer = new Set(buffer.slice(head).map((e) => e.row.id))
      const lost = held.filter((id) => !running.runs.has(id) && !inBuffer.has(id) && !options.outcomePending(id))
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

    // Where other processes' jobs announce themselves (PostgreSQL's NOTIFY), polling is only the backstop: while
    // the worker stays idle its polls back off, doubling up to ten polling intervals; any wake-up or job resets it.
    const backsOff = yield* Effect.map(Notices, (n) => n.readyAcrossProcesses)
    let idlePolls = 0
    // What ends an idle wait: a wake-up (local, or from another process) or the timer. A wake-up that comes while
    // the worker is not waiting is kept, and the next wait ends at once: the claim in flight may have missed its jobs.
    let woken = false
    let waiting: Deferred.Deferred<boolean> | undefined
    const wake = () => {
      woken = true
      if (waiting !== undefined) Deferred.unsafeDone(waiting, Exit.succeed(false))
    }
    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(Queue.take(wakeups), Effect.sync(wake))))
    // Jobs made ready by other processes (PostgreSQL's NOTIFY; elsewhere this never fires and polling finds them).
    yield* Effect.flatMap(Notices, (n) => n.whenReady(wake))
    const idle = Effect.gen(function*() {
      if (!woken) {
        const waited = yield* Deferred.make<boolean>()
        waiting = waited
        const waitMs = idleWaitMs(pollingMs, backsOff ? idlePolls : 0)
        const timer = yield* Effect.fork(Effect.zipRight(Effect.sleep(Duration.millis(waitMs)), Deferred.succeed(waited, true)))
        const timedOut = yield* Effect.ensuring(Deferred.await(waited), Effect.sync(() => (waiting = undefined)))
        // Not awaited: the next claim need not wait for the timer to stop.
        yield* Fiber.interruptFork(timer)
        if (timedOut) {
          idlePolls++
          return
        }
      }
      woken = false
      idlePolls = 0
    })
    // Jobs that end together free their slots together: let them, and start or claim for all at once. The
    // outcomes of those jobs get their turn at the database first (their writes start in a fiber of their own).
    const slotFreed = Effect.zipRight(Queue.take(running.slotFreed), Effect.repeatN(Effect.yieldNow(), 3))

    // A poll failed (or a check of claims did): before the next claim, the worker's claims are checked.
    let pollFailed = false
    const loop = Effect.gen(function*() {
      // The last claim found less than it asked for: claim again only after a wake-up, the polling interval or a
      // thread coming free.
      let exhausted = false
      while (true) {
        yield* claiming.await
        if (pollFailed && !options.stalled()) pollFailed = !(yield* recoverLostClaims)
        const now = yield* Clock.currentTimeMillis
        yield* handOut(now)
        // Claims when the buffer is at most half full, for the free threads and the buffer's room.
        const prefetch = prefetchAt(now, running.ended)
        lastPrefetch = prefetch
        const free = threads - running.inFlight
        const room = threads + prefetch - running.inFlight - buffered()
        if (!exhausted && room > 0 && buffered() <= Math.floor(prefetch / 2)) {
          const claimed = yield* poll(room, Math.max(0, free), now).pipe(
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
          // given back (the jobs not started) or failed by pruning.
          if (options.stalled()) continue
          exhausted = claimed.length < room
          if (claimed.length > 0) idlePolls = 0
          const claimStep = ++step
          // Started by the loop's next turn, which begins by handing out.
          const claimedAt = yield* Clock.currentTimeMillis
          for (let i = 0; i < claimed.length; i++) buffer.push({ row: claimed[i], claimedAt, started: i < free, step: claimStep })
          lowWoken = false
          continue
        }
        if (free > 0 && buffered() === 0) {
          yield* idle
          exhausted = false
          continue
        }
        // Threads busy: when one comes free, start the next buffered job, or claim again (as after a wake-up: a
        // race with the wake-ups could lose one).
        yield* slotFreed
        exhausted = false
      }
    })
    // Not scoped: shutdown interrupts it first, before the grace period, and the scope's finalizers come after.
    const fiber = yield* Effect.forkDaemon(loop)
    // Stopped for want of liveness: the buffered jobs are not started; they are given back when the worker
    // recovers (with everything it holds), or by pruning.
    const dropBuffer = Effect.sync(() => {
      buffer = []
      head = 0
    })
    return {
      stop: Fiber.interrupt(fiber).pipe(Effect.asVoid),
      pause: Effect.zipRight(claiming.close, dropBuffer),
      resume: claiming.open,
      awaitIdle: threadPool.awaitIdle,
      releaseBuffered: Effect.suspend(() => {
        const rest = takeBuffered(buffered())
        return giveBack(rest, "the worker is shutting down")
      })
    }
  })
