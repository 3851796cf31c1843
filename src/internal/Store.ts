/**
 * The store: the storage contract (`Storage.ts`) served by every statement steady-queue runs, with the dialect
 * resolved once when the layer is built.
 */
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer } from "effect"
import { claimGuardsPauses, makeClaim } from "./sql/claim.js"
import { makeCancel } from "./sql/cancel.js"
import { makeClaimed } from "./sql/claimed.js"
import { detect, type Dialect } from "./sql/dialect.js"
import { makeEnqueue } from "./sql/enqueue.js"
import { makeFailed } from "./sql/failed.js"
import { makeJobs } from "./sql/jobs.js"
import { makeListing } from "./sql/listing.js"
import { makeOverview } from "./sql/overview.js"
import { makeOwnership } from "./sql/ownership.js"
import { makeProcesses } from "./sql/processes.js"
import { makeQueues } from "./sql/queues.js"
import { makeRecurring } from "./sql/recurring.js"
import { makeClearFinished } from "./sql/retention.js"
import { makeScheduled } from "./sql/scheduled.js"
import { makeSemaphores } from "./sql/semaphores.js"
import type { Storage } from "./Storage.js"
import { atBoundary, isolated, joining, persistedTransaction } from "./StoreIsolation.js"

const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const info: Dialect = yield* detect
  const semaphores = makeSemaphores(sql, info)
  /** Writes new jobs, prepared for execution, atomically (joining the caller's transaction if there is one). */
  const enqueue = makeEnqueue(sql, info, semaphores)
  return {
    sql,
    info,
    enqueue,
    claim: makeClaim(sql, info),
    claimGuardsPauses: claimGuardsPauses(info),
    claimed: makeClaimed(sql, info, semaphores),
    cancellation: makeCancel(sql, info, semaphores),
    ownership: makeOwnership(sql),
    scheduled: makeScheduled(sql, info, semaphores.dispatchJobs),
    listing: makeListing(sql, info),
    overview: makeOverview(sql, info),
    jobs: makeJobs(sql, info),
    failed: makeFailed(sql, info, semaphores),
    queues: makeQueues(sql, info),
    clearFinished: makeClearFinished(sql, info),
    processes: makeProcesses(sql, info),
    recurring: makeRecurring(sql, info),
    // The rest of the semaphores' statements run only inside the transactions of the statements above.
    semaphores: { releaseFree: semaphores.releaseFree, maintain: semaphores.maintain }
  } as const
})

export interface StoreOptions {
  /** Statements join a transaction the caller has open (on the app's own client); false keeps them on this client's. */
  readonly joinAppTransactions: boolean
}

/** SQLite's client has one connection: the store needs to recognise a transaction already open on it. */
const onlyConnection = (sql: SqlClient.SqlClient, info: Dialect) =>
  info.singleConnection ? Effect.scoped(sql.reserve) : Effect.succeed(undefined)

/**
 * The statements, behind the boundary of the SQL layer: each effect of the service runs on steady-queue's own
 * connections unless it joins the app's transactions, and fails with `PersistenceError` only; `withTransaction`
 * opens the store's own transaction.
 */
const build = (options: StoreOptions) =>
  Effect.gen(function*() {
    const { sql, info, ...statements } = yield* make
    const isolation = options.joinAppTransactions
      ? joining(sql)
      : isolated(sql, yield* onlyConnection(sql, info))
    const storage: Storage = {
      ...atBoundary(statements, isolation.isolate),
      withTransaction: persistedTransaction(isolation.withTransaction)
    }
    return storage
  })

export class Store extends Context.Tag("steady-queue/internal/Store")<Store, Storage>() {
  /** On the app's own client: joins its transactions. */
  static readonly layer = Layer.effect(Store, build({ joinAppTransactions: true }))
  static readonly layerWith = (options: StoreOptions) => Layer.effect(Store, build(options))
}
