/**
 * A registered process: its row is inserted when the scope opens, kept alive by heartbeats, and removed when
 * the scope closes, after `beforeDeregister` (a worker releases its claims there).
 */
import { Clock, Duration, Effect, Schedule, type Scope } from "effect"
import * as os from "node:os"
import { Store } from "./Store.js"

export interface ProcessRegistration {
  readonly kind: "Supervisor" | "Worker" | "Dispatcher" | "Scheduler"
  readonly name: string
  readonly supervisorId: number | null
  readonly metadata: Record<string, unknown>
  readonly heartbeatInterval: Duration.DurationInput
}

export const randomName = (kind: string) => `${kind.toLowerCase()}-${crypto.randomUUID().slice(0, 8)}`

export const register = (
  registration: ProcessRegistration,
  beforeDeregister: (processId: number) => Effect.Effect<void> = () => Effect.void
): Effect.Effect<number, never, Store | Scope.Scope> =>
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
          Effect.catchAll((e) => Effect.logWarning(`steady-queue: could not deregister process ${id}`, e))
        )
    )
    // A process pruned while it was alive (a long pause, a network split) finds its row gone: its claims were
    // failed, and its late completions are fenced off. It puts its row back and carries on with new work.
    const beat = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      if (yield* store.processes.heartbeat(id, now)) return
      yield* Effect.logWarning(`steady-queue: process ${id} (${registration.kind}) was pruned; registering again`)
      yield* store.processes.register(row, now, id)
    })
    yield* beat.pipe(
      Effect.catchAll((e) => Effect.logWarning("steady-queue: heartbeat failed", e)),
      Effect.repeat(Schedule.spaced(registration.heartbeatInterval)),
      Effect.delay(registration.heartbeatInterval),
      Effect.forkScoped
    )
    return id
  })

/** For writes that must not be lost to a passing database error: back off, then give up after about a minute. */
export const writeRetry = Schedule.exponential(Duration.millis(50), 2).pipe(
  Schedule.either(Schedule.spaced(Duration.seconds(5))),
  Schedule.upTo(Duration.minutes(1))
)
