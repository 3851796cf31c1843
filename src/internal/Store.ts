/**
 * The store: the storage contract (`Storage.ts`) served by every statement steady-queue runs, with the dialect
 * resolved once when the layer is built.
 */
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer } from "effect"
import { claimGuardsPauses, makeClaim } from "./sql/claim.js"
import { makeClaimed } from "./sql/claimed.js"
import { detect, type DialectInfo } from "./sql/dialect.js"
import { insertBatchSize, makeEnqueuePg, makeInsertExecutions, makeInsertJobs } from "./sql/enqueue.js"
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
import type { InsertedJob, NewJob, Storage } from "./Storage.js"
import { atBoundary, isolated, joining, persistedTransaction } from "./StoreIsolation.js"

const toLimited = (j: InsertedJob) => ({
  jobId: j.id,
  queueName: j.queueName,
  priority: j.priority,
  key: j.concurrencyKey!,
  limit: j.concurrencyLimit!,
  durationMs: j.concurrencyDurationMs!
})

const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const info: DialectInfo = yield* detect
  const insertJobs = makeInsertJobs(sql, info)
  const insertExecutions = makeInsertExecutions(sql)
  /** Writes new jobs with their executions, atomically (joining the caller's transaction if there is one). */
  const enqueuePg = makeEnqueuePg(sql)
  const semaphores = makeSemaphores(sql, info)
  const isLimited = (j: NewJob) => j.concurrencyKey !== null
  /** Due jobs with a concurrency key wait on their semaphore: ready if they get a slot, blocked if not. */
  const dispatchLimited = (rows: ReadonlyArray<InsertedJob>, now: number) =>
    semaphores.dispatch(rows.filter((j) => isLimited(j) && j.scheduledAt <= now).map(toLimited), now)
  const enqueue = info.dialect === "pg"
    ? (jobs: ReadonlyArray<NewJob>, now: number) =>
      // One statement per batch: a single batch of unlimited jobs needs no transaction of its own.
      jobs.length <= insertBatchSize && !jobs.some(isLimited)
        ? enqueuePg(jobs, now)
        : sql.withTransaction(Effect.tap(enqueuePg(jobs, now), (rows) => dispatchLimited(rows, now)))
    : (jobs: ReadonlyArray<NewJob>, now: number) =>
      sql.withTransaction(Effect.gen(function*() {
        const rows: ReadonlyArray<InsertedJob> = yield* insertJobs(jobs, now)
        yield* insertExecutions.ready(rows.filter((j) => j.scheduledAt <= now && !isLimited(j)), now)
        yield* insertExecutions.scheduled(rows.filter((j) => j.scheduledAt > now), now)
        yield* dispatchLimited(rows, now)
        return rows
      }))
  return {
    sql,
    info,
    enqueue,
    claim: makeClaim(sql, info),
    claimGuardsPauses: claimGuardsPauses(info),
    claimed: makeClaimed(sql, info, semaphores),
    ownership: makeOwnership(sql),
    scheduled: makeScheduled(sql, info, semaphores.readyAgain),
    listing: makeListing(sql),
    overview: makeOverview(sql, info),
    jobs: makeJobs(sql),
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
const onlyConnection = (sql: SqlClient.SqlClient, info: DialectInfo) =>
  info.dialect === "sqlite" ? Effect.scoped(sql.reserve) : Effect.succeed(undefined)

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
