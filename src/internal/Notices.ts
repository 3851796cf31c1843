/**
 * Notices about jobs, within a process and, on PostgreSQL, across processes: a job's outcome was written (for
 * handles awaiting it) and a job was asked to cancel (for the worker running it). They only shorten a wait:
 * readers poll as well, so a notice that is lost (a dropped LISTEN connection, another database) costs time,
 * never correctness. PostgreSQL's notices are sent in the writing transaction (sql/notify.ts) and read on one
 * LISTEN connection per process, opened while someone is subscribed.
 */
import { SqlClient } from "@effect/sql"
import { Context, Duration, Effect, Layer, PubSub, type Queue, RcRef, Schedule, type Scope, Stream } from "effect"
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
  /** Notices that jobs became ready in another process (PostgreSQL only: elsewhere nothing comes). */
  readonly onReady: Effect.Effect<Queue.Dequeue<Notice>, never, Scope.Scope>
}

/** Whether a notice names the job. */
export const names = (notice: Notice, jobId: number): boolean => notice === "any" || notice.includes(jobId)

type Listen = (channel: string) => Stream.Stream<string, unknown>

/** The client's LISTEN, if it is PostgreSQL's (`@effect/sql-pg` adds `listen` to its client). */
const listenOf = (sql: SqlClient.SqlClient): Listen | undefined => {
  const listen = (sql as { readonly listen?: unknown }).listen
  return typeof listen === "function" ? (channel) => (listen as Listen).call(sql, channel) : undefined
}

/** Feeds a channel into a hub, listening again a second after the stream fails. */
const relay = (listen: Listen, channel: string, hub: PubSub.PubSub<Notice>) =>
  listen(channel).pipe(
    Stream.runForEach((payload) => PubSub.publish(hub, parsePayload(payload))),
    Effect.tapErrorCause((cause) => Effect.logDebug(`steady-queue: LISTEN ${channel} failed; listening again`, cause)),
    Effect.retry(Schedule.spaced(Duration.seconds(1))),
    Effect.forkScoped
  )

const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const dialect = yield* Effect.orElseSucceed(detectName, () => "sqlite" as const)
  const settled = yield* PubSub.unbounded<Notice>()
  const cancels = yield* PubSub.unbounded<Notice>()
  // Ready notices only wake: a sliding hub of one drops those a busy worker has not read yet.
  const readies = yield* PubSub.sliding<Notice>(1)
  const listen = dialect === "pg" ? listenOf(sql) : undefined
  // One LISTEN connection while anyone is subscribed, kept a little after the last leaves (awaits come in runs).
  const listening = listen === undefined ? undefined : yield* RcRef.make({
    acquire: Effect.all([
      relay(listen, settledChannel, settled),
      relay(listen, cancelChannel, cancels),
      relay(listen, readyChannel, readies)
    ]),
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
    onReady: subscribe(readies)
  }
  return service
})

export class Notices extends Context.Tag("steady-queue/internal/Notices")<Notices, NoticesService>() {
  static readonly layer: Layer.Layer<Notices, never, SqlClient.SqlClient> = Layer.scoped(Notices, make)
}
