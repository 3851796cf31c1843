/**
 * Notices about jobs, within a process and, on PostgreSQL, across processes: a job's outcome was written (for
 * handles awaiting it) and a job was asked to cancel (for the worker running it). They only shorten a wait:
 * readers poll as well, so a notice that is lost (a dropped LISTEN connection, another database) costs time,
 * never correctness. PostgreSQL's notices are sent in the writing transaction (sql/notify.ts) and read on one
 * LISTEN connection per process (pgListen.ts), opened while someone is subscribed, health-checked and opened again
 * when it drops (Listener.ts).
 */
import { SqlClient } from "@effect/sql"
import { Context, Duration, Effect, Layer, Option, PubSub, Queue, RcRef, type Scope } from "effect"
import { keepListening } from "./Listener.js"
import { clientOptions, configOf, loadDriver, openListen } from "./pgListen.js"
import { cancelChannel, parsePayload, readyChannel, settledChannel } from "./sql/notify.js"
import { detectName } from "./sql/dialect.js"

/** Job ids, or "any" when a notice named too many to list. */
export type Notice = ReadonlyArray<number> | "any"

export interface NoticesService {
  /** Tells this process's subscribers that these jobs' outcomes were written. */
  readonly settled: (ids: ReadonlyArray<number>) => Effect.Effect<void>
  /** Tells this process's workers that these jobs were asked to cancel. */
  readonly cancelRequested: (ids: ReadonlyArray<number>) => Effect.Effect<void>
  /** Settled notices for as long as the scope lives. */
  readonly onSettled: Effect.Effect<Queue.Dequeue<Notice>, never, Scope.Scope>
  /** Cancel notices for as long as the scope lives. */
  readonly onCancel: Effect.Effect<Queue.Dequeue<Notice>, never, Scope.Scope>
  /**
   * Calls `f` each time jobs became ready in another process (PostgreSQL only: elsewhere never), for as long as the
   * scope lives. Called synchronously where the notice arrives, so it must only record the fact and return: an idle
   * worker is woken with no fiber in between.
   */
  readonly whenReady: (f: () => void) => Effect.Effect<void, never, Scope.Scope>
  /** Whether ready notices come from other processes (PostgreSQL with a LISTEN connection): polling is a backstop. */
  readonly readyAcrossProcesses: boolean
}

/** Whether a notice names the job. */
export const names = (notice: Notice, jobId: number): boolean => notice === "any" || notice.includes(jobId)

const channels = [settledChannel, cancelChannel, readyChannel] as const

/**
 * Keeps this process's LISTEN connection up, feeding the hubs; each time it listens (again) every hub hears "any",
 * since whatever was sent while it did not listen is lost. Without the client's connection options (a
 * `SqlClient` that is not `@effect/sql-pg`'s) or the `pg` driver, nothing comes: readers poll.
 */
const listener = (
  sql: SqlClient.SqlClient,
  hubs: Record<typeof settledChannel | typeof cancelChannel, PubSub.PubSub<Notice>>,
  ready: () => void
) =>
  Effect.gen(function*() {
    const config = configOf(sql)
    if (config === undefined) {
      yield* Effect.logWarning("steady-queue: the PostgreSQL client gives no connection options; no LISTEN, readers poll")
      return undefined
    }
    const driver = yield* Effect.option(loadDriver)
    if (Option.isNone(driver)) {
      yield* Effect.logWarning("steady-queue: the pg driver could not be loaded; no LISTEN, readers poll")
      return undefined
    }
    // The driver hands notices over outside any fiber: settled and cancel notices pass through an inbox to their
    // hubs; ready notices only wake, so their listeners are called right there.
    const inbox = yield* Queue.unbounded<readonly [PubSub.PubSub<Notice>, Notice]>()
    yield* Queue.take(inbox).pipe(Effect.flatMap(([hub, notice]) => PubSub.publish(hub, notice)), Effect.forever, Effect.forkScoped)
    const deliver = (channel: string, payload: string) => {
      if (channel === readyChannel) ready()
      else if (Object.hasOwn(hubs, channel)) inbox.unsafeOffer([hubs[channel as keyof typeof hubs], parsePayload(payload)])
    }
    return keepListening({
      open: openListen(driver.value.Client, clientOptions(config), channels, deliver),
      listening: Effect.zipRight(
        Effect.sync(ready),
        Effect.forEach(Object.values(hubs), (hub) => PubSub.publish(hub, "any"), { discard: true })
      )
    })
  })

const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const dialect = yield* Effect.orElseSucceed(detectName, () => "sqlite" as const)
  const settled = yield* PubSub.unbounded<Notice>()
  const cancels = yield* PubSub.unbounded<Notice>()
  // Ready notices only wake: each listener records it and returns (a worker that is not waiting looks next time).
  const readyListeners = new Set<() => void>()
  const ready = () => {
    for (const f of readyListeners) f()
  }
  const listen = dialect === "pg"
    ? yield* listener(sql, { [settledChannel]: settled, [cancelChannel]: cancels }, ready)
    : undefined
  // One LISTEN connection while anyone is subscribed, kept a little after the last leaves (awaits come in runs).
  const listening = listen === undefined ? undefined : yield* RcRef.make({
    acquire: listen,
    idleTimeToLive: Duration.seconds(10)
  })
  const subscribe = (hub: PubSub.PubSub<Notice>) =>
    Effect.gen(function*() {
      const queue = yield* PubSub.subscribe(hub)
      if (listening !== undefined) yield* RcRef.get(listening)
      return queue
    })
  const service: NoticesService = {
    settled: (ids) => ids.length === 0 ? Effect.void : Effect.asVoid(PubSub.publish(settled, ids)),
    cancelRequested: (ids) => ids.length === 0 ? Effect.void : Effect.asVoid(PubSub.publish(cancels, ids)),
    onSettled: subscribe(settled),
    onCancel: subscribe(cancels),
    whenReady: (f) =>
      Effect.gen(function*() {
        yield* Effect.acquireRelease(Effect.sync(() => readyListeners.add(f)), () => Effect.sync(() => readyListeners.delete(f)))
        if (listening !== undefined) yield* RcRef.get(listening)
      }),
    readyAcrossProcesses: listening !== undefined
  }
  return service
})

export class Notices extends Context.Tag("steady-queue/internal/Notices")<Notices, NoticesService>() {
  static readonly layer: Layer.Layer<Notices, never, SqlClient.SqlClient> = Layer.scoped(Notices, make)
}
