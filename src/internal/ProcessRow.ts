/**
 * A registered process: its row is inserted when the scope opens, kept alive by heartbeats, and removed when
 * the scope closes, after `beforeDeregister` (a worker releases its claims there). Workers heartbeat through
 * their liveness loop (`Liveness.watch`); every other process through `register`'s own.
 */
import { Cause, Clock, Duration, Effect, Schedule, type Scope } from "effect"
import * as os from "node:os"
import type { PersistenceError } from "../Errors.js"
import { Store } from "./Store.js"

export interface ProcessRegistration {
  readonly kind: "Supervisor" | "Worker" | "Dispatcher" | "Scheduler"
  readonly name: string
  readonly supervisorId: number | null
  readonly metadata: Record<string, unknown>
  readonly heartbeatInterval: Duration.DurationInput
}

export const randomName = (kind: string) => `${kind.toLowerCase()}-${crypto.randomUUID().slice(0, 8)}`

/** A registered row: the process heartbeats it, and puts it back if it was pruned while alive. */
export interface Registered {
  readonly id: number
  /** Writes a heartbeat at `now`; returns whether the row was still there. */
  readonly heartbeat: (now: number) => Effect.Effect<boolean, PersistenceError>
  /** Puts the row of a process that was pruned while alive back, under the same id. */
  readonly registerAgain: (now: number) => Effect.Effect<void, PersistenceError>
}

/** Registers the row for the scope, without heartbeats: for a process that runs its own (a worker). */
export const registerRow = (
  registration: ProcessRegistration,
  beforeDeregister: (processId: number) => Effect.Effect<void> = () => Effect.void
): Effect.Effect<Registered, never, Store | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* Store
    const row = {
      kind: registration.kind,
      name: registration.name,
      pid: process.pid,
      hostname: os.hostname(),
      supervisorId: registration.supervisorId,
      metadata: JSON.stringify(registration.metadata)
    }
    const id = yield* Effect.acquireRelease(
      Effect.flatMap(Clock.currentTimeMillis, (now) => store.processes.register(row, now)).pipe(
        Effect.retry(writeRetry),
        Effect.orDie
      ),
      (id) =>
        beforeDeregister(id).pipe(
          Effect.zipRight(store.processes.deregister(id).pipe(Effect.retry(writeRetry))),
          Effect.catchAllCause((cause) => Effect.logWarning(`steady-queue: could not deregister process ${id}`, cause))
        )
    )
    return {
      id,
      heartbeat: (now) => store.processes.heartbeat(id, now),
      registerAgain: (now) => Effect.asVoid(store.processes.register(row, now, id))
    }
  })

export const register = (
  registration: ProcessRegistration,
  beforeDeregister: (processId: number) => Effect.Effect<void> = () => Effect.void
): Effect.Effect<number, never, Store | Scope.Scope> =>
  Effect.gen(function*() {
    const registered = yield* registerRow(registration, beforeDeregister)
    // A process pruned while it was alive (a long pause, a network split) finds its row gone: its claims were
    // failed, and its late completions are fenced off. It puts its row back and carries on with new work.
    const beat = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      if (yield* registered.heartbeat(now)) return
      yield* Effect.logWarning(`steady-queue: process ${registered.id} (${registration.kind}) was pruned; registering again`)
      yield* registered.registerAgain(now)
    })
    yield* beat.pipe(
      // Defects too: one bad heartbeat must not end them all.
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : Effect.logWarning("steady-queue: heartbeat failed", cause)
      ),
      Effect.repeat(Schedule.spaced(registration.heartbeatInterval)),
      Effect.delay(registration.heartbeatInterval),
      Effect.forkScoped
    )
    return registered.id
  })

/** For writes that must not be lost to a passing database error: back off, then give up after about a minute. */
export const writeRetry = Schedule.exponential(Duration.millis(50), 2).pipe(
  Schedule.either(Schedule.spaced(Duration.seconds(5))),
  Schedule.upTo(Duration.minutes(1))
)
