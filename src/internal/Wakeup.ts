/**
 * A local nudge: enqueueing, retrying or resuming in this process wakes this process's idle workers and
 * dispatchers at once instead of at their next poll. Polling stays the mechanism; this only shortens the wait.
 */
import { Context, Effect, Layer, Queue, type Scope } from "effect"

export interface WakeupService {
  readonly ring: Effect.Effect<void>
  /** A mailbox that receives a (coalesced) signal after each ring, for as long as the scope lives. */
  readonly listen: Effect.Effect<Queue.Dequeue<void>, never, Scope.Scope>
}

export class Wakeup extends Context.Tag("steady-queue/internal/Wakeup")<Wakeup, WakeupService>() {
  static readonly layer = Layer.sync(Wakeup, (): WakeupService => {
    const listeners = new Set<Queue.Queue<void>>()
    return {
      ring: Effect.suspend(() => Effect.forEach(listeners, (q) => Queue.offer(q, undefined), { discard: true })),
      listen: Effect.acquireRelease(
        Effect.tap(Queue.sliding<void>(1), (q) => Effect.sync(() => listeners.add(q))),
        (q) => Effect.sync(() => listeners.delete(q)).pipe(Effect.zipRight(Queue.shutdown(q)))
      )
    }
  })
}
