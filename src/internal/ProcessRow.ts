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
    const id = yield* Effect.acquireRelease(
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        store.processes.register({
          kind: registration.kind,
          name: registration.name,
          pid: process.pid,
          hostname: os.hostname(),
          supervisorId: registration.supervisorId,
          metadata: JSON.stringify(registration.metadata)
        }, now)).pipe(Effect.retry(writeRetry), Effect.orDie),
      (id) =>
        beforeDeregister(id).pipe(
          Effect.zipRight(store.processes.deregister(id).pipe(Effect.retry(writeRetry))),
          Effect.catchAll((e) => Effect.logWarning(`steady-queue: could not deregister process ${id}`, e))
        )
    )
    yield* Effect.flatMap(Clock.currentTimeMillis, (now) => store.processes.heartbeat(id, now)).pipe(
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
