/**
 * A worker's threads: long-lived fibers that run the jobs the poller hands them, one at a time. A fiber forked
 * per job costs about as much CPU time as running a no-op job; a thread is handed a job through one Deferred.
 *
 * Each job still runs as if on a fiber of its own: it starts from the fiber refs its thread was made with (log
 * annotations, context, spans; nothing a previous job set leaks into it), and the fibers its handler forked are
 * interrupted and awaited when it ends. A thread runs uninterruptibly but for the handler, which the job's
 * `restore` makes interruptible. An interruption cannot be taken back, so a thread whose job was interrupted
 * (cancelled, lost, the worker stopping) retires once that job has ended, and the next job gets a new thread:
 * no interruption meant for one job can reach another.
 *
 * A thread that ends a job takes the next one at once when `next` has one (a job claimed ahead that may start
 * now), with no hand-off through the poll loop; otherwise it waits, idle, to be handed one.
 *
 * State, per thread:    idle ──handed a job──▶ busy ──job ended, `next` has one──▶ busy
 *                                               │ └──job ended, nothing next──▶ idle
 *                                               └──interrupted──▶ retired (its fiber ends after the job)
 */
import { Cause, Deferred, Effect, Exit, Fiber, FiberId, type FiberRefs, type Scope } from "effect"

/** Makes its effect interruptible again inside the thread's uninterruptible run (the handler's part of a job). */
export type Restore = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/** A job for a thread: what to run, and what to do, synchronously, when a thread takes it and once it has ended. */
export interface Work {
  readonly assigned: (thread: Thread) => void
  readonly run: (restore: Restore) => Effect.Effect<void>
  readonly ended: () => void
}

export interface Thread {
  /** Set when the thread's job is interrupted: it takes no other job. */
  retired: boolean
  fiber: Fiber.RuntimeFiber<void> | undefined
  /** Completed with the thread's next job (or with `stop`). */
  next: Deferred.Deferred<Work | typeof stop>
}

const stop = Symbol("stop")

export interface Threads {
  /** Runs `work` on an idle thread (a new one if none is idle); returns it. */
  readonly run: (work: Work) => Effect.Effect<Thread>
  /** Waits until no thread is busy. */
  readonly awaitIdle: Effect.Effect<void>
}

/** Interrupts the job a thread runs (its handler, if it is still running); the thread retires after it. */
export const interrupt = (thread: Thread): Effect.Effect<void> =>
  Effect.suspend(() => {
    thread.retired = true
    return thread.fiber === undefined ? Effect.void : Fiber.interruptFork(thread.fiber)
  })

/** The fiber runtime's own methods for this, when it has them (Effect 3); public, slower equivalents otherwise. */
interface RuntimeInternals {
  readonly setFiberRefs?: (refs: FiberRefs.FiberRefs) => void
  readonly interruptAllChildren?: () => Effect.Effect<void> | null
}

const resetRefs = (fiber: Fiber.RuntimeFiber<unknown, unknown>, refs: FiberRefs.FiberRefs): Effect.Effect<void> => {
  const internals = fiber as unknown as RuntimeInternals
  if (typeof internals.setFiberRefs !== "function") return Effect.setFiberRefs(refs)
  internals.setFiberRefs.call(fiber, refs)
  return Effect.void
}

/** As a fiber does when it ends: its children are interrupted, and awaited; undefined when it has none. */
const interruptChildren = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Effect.Effect<void> | undefined => {
  const internals = fiber as unknown as RuntimeInternals
  if (typeof internals.interruptAllChildren !== "function") {
    return Effect.flatMap(fiber.children, (children) => children.length === 0 ? Effect.void : Fiber.interruptAll(children))
  }
  return internals.interruptAllChildren.call(fiber) ?? undefined
}

/**
 * Threads for one worker. `next` is asked, synchronously, for a job to start when a thread ends one; `freed` is
 * told when a thread ends a job and takes no other (it is idle, or retired). When the scope closes, running jobs
 * are interrupted and every thread ends.
 */
export const make = (options: {
  readonly next: () => Work | undefined
  readonly freed: () => void
}): Effect.Effect<Threads, never, Scope.Scope> => Effect.gen(function*() {
  const idle: Array<Thread> = []
  const all = new Set<Thread>()
  let busy = 0
  // Jobs given to a thread and not started yet.
  let waiting = 0
  let closing = false
  let idleWaiters: Array<Deferred.Deferred<void>> = []

  const assign = (thread: Thread, work: Work) => {
    busy++
    waiting++
    work.assigned(thread)
  }

  /** After a job: the thread's next job, or `idle` (it waits to be handed one), or `stop`. */
  const settle = (thread: Thread, work: Work): Work | "idle" | typeof stop => {
    busy--
    work.ended()
    if (!thread.retired && !closing) {
      const following = options.next()
      if (following !== undefined) {
        assign(thread, following)
        return following
      }
    }
    options.freed()
    if (busy === 0 && idleWaiters.length > 0) {
      for (const waiter of idleWaiters) Deferred.unsafeDone(waiter, Exit.void)
      idleWaiters = []
    }
    if (thread.retired || closing) return stop
    thread.next = Deferred.unsafeMake(FiberId.none)
    idle.push(thread)
    return "idle"
  }

  /**
   * The end of a job on the thread: its handler's fibers are interrupted, the thread settles and its fiber refs
   * go back to the thread's own. Before a next job taken at once it yields when other threads have jobs they have
   * not started yet, so that those start first: jobs start in the order they were taken from the buffer.
   */
  const endJob = (thread: Thread, work: Work, base: FiberRefs.FiberRefs) =>
    Effect.withFiberRuntime<Work | "idle" | typeof stop>((fiber) => {
      const after = Effect.suspend((): Effect.Effect<Work | "idle" | typeof stop> => {
        const following = settle(thread, work)
        if (following === stop) return Effect.succeed(following)
        const reset = resetRefs(fiber, base)
        if (following === "idle" || waiting === 1) return Effect.as(reset, following)
        return Effect.as(Effect.zipRight(reset, Effect.yieldNow()), following)
      })
      const children = interruptChildren(fiber)
      return children === undefined ? after : Effect.zipRight(children, after)
    })

  const loop = (thread: Thread) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const base = yield* Effect.getFiberRefs
        let work: Work | "idle" | typeof stop = "idle"
        while (work !== stop) {
          if (work === "idle") {
            work = yield* Deferred.await(thread.next)
            continue
          }
          waiting--
          // A job's run never fails (its failures are its outcome): a defect is logged, and the thread goes on.
          const exit = yield* Effect.exit(work.run(restore))
          if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) {
            yield* Effect.logError("steady-queue: a job's run ended with a defect", exit.cause)
          }
          work = yield* endJob(thread, work, base)
        }
      })
    ).pipe(Effect.ensuring(Effect.sync(() => all.delete(thread))))

  const spawn = Effect.suspend(() => {
    const thread: Thread = { retired: false, fiber: undefined, next: Deferred.unsafeMake(FiberId.none) }
    all.add(thread)
    return Effect.map(Effect.forkDaemon(loop(thread)), (fiber) => {
      thread.fiber = fiber
      return thread
    })
  })

  yield* Effect.addFinalizer(() =>
    Effect.suspend(() => {
      closing = true
      const threads = [...all]
      for (const thread of idle) Deferred.unsafeDone(thread.next, Exit.succeed(stop))
      idle.length = 0
      return Effect.forEach(threads, (thread) =>
        thread.fiber === undefined ? Effect.void : Effect.zipRight(interrupt(thread), Fiber.await(thread.fiber)), {
        concurrency: "unbounded",
        discard: true
      })
    })
  )

  return {
    run: (work) =>
      Effect.map(idle.length > 0 ? Effect.succeed(idle.pop()!) : spawn, (thread) => {
        assign(thread, work)
        Deferred.unsafeDone(thread.next, Exit.succeed(work))
        return thread
      }),
    awaitIdle: Effect.suspend(() => {
      if (busy === 0) return Effect.void
      const waiter = Deferred.unsafeMake<void>(FiberId.none)
      idleWaiters.push(waiter)
      return Deferred.await(waiter)
    })
  }
})
