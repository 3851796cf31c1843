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
 * State, per thread:    idle ──handed a job──▶ busy ──job ended──▶ idle
 *                                                 └─interrupted──▶ retired (its fiber ends after the job)
 */
import { Deferred, Effect, Exit, Fiber, FiberId, type FiberRefs, type Scope } from "effect"

/** Makes its effect interruptible again inside the thread's uninterruptible run (the handler's part of a job). */
export type Restore = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/** A job for a thread: what to run, and what to do, synchronously, once it has ended however it ended. */
export interface Work {
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

const resetRefs = (refs: FiberRefs.FiberRefs): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    const internals = fiber as unknown as RuntimeInternals
    if (typeof internals.setFiberRefs !== "function") return Effect.setFiberRefs(refs)
    internals.setFiberRefs.call(fiber, refs)
    return Effect.void
  })

/** As a fiber does when it ends: its children are interrupted, and awaited. */
const interruptChildren: Effect.Effect<void> = Effect.withFiberRuntime((fiber) => {
  const internals = fiber as unknown as RuntimeInternals
  if (typeof internals.interruptAllChildren !== "function") {
    return Effect.flatMap(fiber.children, (children) => children.length === 0 ? Effect.void : Fiber.interruptAll(children))
  }
  return internals.interruptAllChildren.call(fiber) ?? Effect.void
})

/** Threads for one worker; when the scope closes, running jobs are interrupted and every thread ends. */
export const make: Effect.Effect<Threads, never, Scope.Scope> = Effect.gen(function*() {
  const idle: Array<Thread> = []
  const all = new Set<Thread>()
  let busy = 0
  let closing = false
  let idleWaiters: Array<Deferred.Deferred<void>> = []

  const settle = (thread: Thread, work: Work) =>
    Effect.sync(() => {
      busy--
      work.ended()
      if (busy === 0 && idleWaiters.length > 0) {
        for (const waiter of idleWaiters) Deferred.unsafeDone(waiter, Exit.void)
        idleWaiters = []
      }
      if (thread.retired || closing) return false
      thread.next = Deferred.unsafeMake(FiberId.none)
      idle.push(thread)
      return true
    })

  const loop = (thread: Thread) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const base = yield* Effect.getFiberRefs
        while (true) {
          const work = yield* Deferred.await(thread.next)
          if (work === stop) return
          yield* resetRefs(base)
          yield* Effect.ensuring(work.run(restore), interruptChildren)
          if (!(yield* settle(thread, work))) return
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
        busy++
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
