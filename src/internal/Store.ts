/**
 * Every statement steady-queue runs, with the dialect resolved once when the layer is built.
 */
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer } from "effect"
import { makeClaim } from "./sql/claim.js"
import { makeClaimed } from "./sql/claimed.js"
import { detect, type DialectInfo } from "./sql/dialect.js"
import { makeInsertExecutions, makeInsertJobs } from "./sql/enqueue.js"
import { makeFailed } from "./sql/failed.js"
import { makeJobs } from "./sql/jobs.js"
import { makeProcesses } from "./sql/processes.js"
import { makeQueues } from "./sql/queues.js"
import { makeClearFinished } from "./sql/retention.js"
import { makeDispatchScheduled } from "./sql/scheduled.js"

const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const info: DialectInfo = yield* detect
  return {
    sql,
    info,
    insertJobs: makeInsertJobs(sql, info),
    insertExecutions: makeInsertExecutions(sql),
    claim: makeClaim(sql, info),
    claimed: makeClaimed(sql, info),
    dispatchScheduled: makeDispatchScheduled(sql, info),
    jobs: makeJobs(sql),
    failed: makeFailed(sql, info),
    queues: makeQueues(sql, info),
    clearFinished: makeClearFinished(sql, info),
    processes: makeProcesses(sql, info)
  } as const
})

export class Store extends Context.Tag("steady-queue/internal/Store")<Store, Effect.Effect.Success<typeof make>>() {
  static readonly layer = Layer.effect(Store, make)
}
