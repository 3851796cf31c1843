import { assert, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Clock, Deferred, Effect, Exit, Option, Scope, TestClock } from "effect"
import { Admin, Dispatcher, JobClient } from "../../src/index.js"
import * as PgPool from "../../src/internal/pgPool.js"
import { prepared } from "../../src/internal/sql/prepared.js"
import { Store } from "../../src/internal/Store.js"
import { Db, type DialectName, reset, suiteLayer } from "../support/databases.js"
import { advanceUntil, awaitFinished, count, handlers, Probe, probeHandler, recordSpans, startWorker, subscribe } from "../support/harness.js"

/** Enqueues `[label, queue, priority]` jobs, then runs one single-thread worker over `queues` until `expect` ran. */
const runOrder = (
  jobs: ReadonlyArray<readonly [label: string, queue: string, priority: number]>,
  queues: ReadonlyArray<string>,
  expected: number
) =>
  Effect.gen(function*() {
    yield* reset
    const ran: Array<string> = []
    yield* handlers(probeHandler(ran))
    yield* JobClient.enqueueAll(jobs.map(([label, queue, priority]) => Probe.job({ label }, { queue, priority })))
    const sub = yield* subscribe
    yield* startWorker({ queues, threads: 1 })
    yield* awaitFinished(sub, expected)
    return ran
  }).pipe(Effect.scoped)

/** A worker's process row, for claims made by hand. */
const aWorkerRow = (now: number) =>
  Effect.flatMap(Store, (store) =>
    store.processes.register({ kind: "Worker", name: "w", pid: 1, hostname: "here", supervisorId: null, metadata: "{}" }, now))

export const workerSuite = (dialect: DialectName) =>
  layer(suiteLayer(dialect), { timeout: "60 seconds" })("worker", (it) => {
    it.effect("runs higher priorities first within a queue, in enqueue order for equal priority", () =>
      Effect.gen(function*() {
        const ran = yield* runOrder([["a", "q", 0], ["b", "q", 10], ["c", "q", -5], ["d", "q", 10], ["e", "q", 100]], ["*"], 5)
        assert.deepStrictEqual(ran, ["e", "b", "d", "a", "c"])
      }))

    it.effect("queue order beats priority across queues", () =>
      Effect.gen(function*() {
        const ran = yield* runOrder(
          [["bg-high", "background", 100], ["rt-low", "real_time", -100], ["rt-mid", "real_time", 0]],
          ["real_time", "background"],
          3
        )
        assert.deepStrictEqual(ran, ["rt-mid", "rt-low", "bg-high"])
      }))

    it.effect("exact names only take their own queues", () =>
      Effect.gen(function*() {
        const ran = yield* runOrder([["x", "other", 0], ["y", "mine", 0]], ["mine"], 1)
        assert.deepStrictEqual(ran, ["y"])
        assert.strictEqual(yield* count("steady_queue_ready_executions"), 1)
      }))

    if (dialect === "pg") {
      it.effect("PostgreSQL: a claim from one queue walks its index, also on a table the planner has no statistics of", () =>
        Effect.gen(function*() {
          yield* reset
          const sql = yield* SqlClient.SqlClient
          const store = yield* Store
          yield* JobClient.enqueueAll(Array.from({ length: 3000 }, (_, i) => Probe.job({ label: `${i}` }, { queue: "q" })))
          // As never analyzed: the planner expects a dozen rows, and would read and sort the whole queue.
          yield* sql`DELETE FROM pg_statistic WHERE starelid = 'steady_queue_ready_executions'::regclass`
          yield* sql`UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid = 'steady_queue_ready_executions'::regclass`
          const entriesRead = Effect.map(
            sql<{ n: number | string }>`SELECT idx_tup_read AS n FROM pg_stat_user_indexes
              WHERE indexrelname = 'ix_sq_ready_executions_poll_queue'`,
            (rows) => Number(rows[0].n)
          )
          const before = yield* entriesRead
          const now = yield* Clock.currentTimeMillis
          const processId = yield* aWorkerRow(now)
          // The claim's connection reports its statistics before it answers the next statement.
          const claimed = yield* sql.withTransaction(
            Effect.zipLeft(store.claim("q", 100, processId, now), sql`SELECT pg_stat_force_next_flush()`)
          )
          assert.deepStrictEqual(claimed.map((r) => r.arguments), Array.from({ length: 100 }, (_, i) => JSON.stringify({ label: `${i}` })))
          assert.isAtMost((yield* entriesRead) - before, 200)
          yield* sql`ANALYZE steady_queue_ready_executions`
        }).pipe(Effect.orDie))

      it.effect("PostgreSQL: the enqueue and the claim are prepared once per connection", () =>
        Effect.gen(function*() {
          yield* reset
          const sql = yield* SqlClient.SqlClient
          const store = yield* Store
          const now = yield* Clock.currentTimeMillis
          const processId = yield* aWorkerRow(now)
          // Which of the two this connection has prepared, and how many statements in all.
          const preparedHere = Effect.map(
            sql<{ statement: string }>`SELECT statement FROM pg_prepared_statements WHERE statement LIKE '/* prepared */%'`,
            (rows) => [
              ["INSERT INTO steady_queue_jobs", "INSERT INTO steady_queue_claimed_executions"]
                .filter((part) => rows.some((r) => r.statement.includes(part))).length,
              rows.length
            ]
          )
          // One connection throughout: each statement is prepared on its first use and reused after.
          const counts = yield* sql.withTransaction(Effect.gen(function*() {
            const counts: Array<ReadonlyArray<number>> = []
            for (let round = 0; round < 2; round++) {
              yield* JobClient.enqueueAll([Probe.job({ label: `${round}` })])
              const [row] = yield* store.claim(undefined, 5, processId, now)
              yield* store.claimed.finish([], [{ id: row.id, concurrency: null, result: null, startedAt: now }], processId, now, true)
              counts.push(yield* preparedHere)
            }
            return counts
          }))
          assert.strictEqual(counts[0][0], 2)
          assert.deepStrictEqual(counts[1], counts[0])
          assert.strictEqual(yield* count("steady_queue_jobs", "finished_at IS NOT NULL"), 2)
          // Turned off (for poolers that cannot keep them), nothing is prepared.
          const unprepared = yield* Effect.flatMap(SqlClient.SqlClient, (plain) =>
            plain.withTransaction(Effect.zipRight(
              plain`${plain.literal(prepared)} SELECT 1`,
              plain<{ n: number | string }>`SELECT count(*) AS n FROM pg_prepared_statements`
            ))).pipe(Effect.provide(PgPool.layer({ url: (yield* Db).url, maxConnections: 1, preparedStatements: false })))
          assert.strictEqual(Number(unprepared[0].n), 0)
        }).pipe(Effect.orDie))
    }

    it.effect("prefix* matches queues by prefix, combined with exact names in order, invalid names ignored", () =>
      Effect.gen(function*() {
        const ran = yield* runOrder(
          [["s1", "staging_b", 50], ["bg", "background", 100], ["s2", "staging_a", 0], ["p", "prod", 0], ["w", "x_staging", 0]],
          ["staging*", "background", "*_staging"],
          3
        )
        // Prefix-matched queues in name order, each drained before the next, then the exact name.
        assert.deepStrictEqual(ran, ["s2", "s1", "bg"])
        assert.strictEqual(yield* count("steady_queue_ready_executions"), 2)
      }))

    it.effect("'*' takes every queue by priority", () =>
      Effect.gen(function*() {
        const ran = yield* runOrder([["a", "one", 1], ["b", "two", 2], ["c", "three", 3]], ["*"], 3)
        assert.deepStrictEqual(ran, ["c", "b", "a"])
      }))

    it.effect("paused queues are not polled until resumed, with '*', exact and prefix selectors", () =>
      Effect.gen(function*() {
        for (const queues of [["*"], ["paused_q", "open_q"], ["paused*", "open*"]]) {
          yield* reset
          const ran: Array<string> = []
          yield* Effect.scoped(Effect.gen(function*() {
            yield* handlers(probeHandler(ran))
            yield* Admin.pause("paused_q")
            yield* Admin.pause("paused_q") // pausing twice is harmless
            assert.deepStrictEqual(yield* Admin.pausedQueues, ["paused_q"])
            yield* Probe.enqueue({ label: "p" }, { queue: "paused_q", priority: 100 })
            yield* Probe.enqueue({ label: "o" }, { queue: "open_q" })
            const sub = yield* subscribe
            yield* startWorker({ queues, threads: 2 })
            yield* awaitFinished(sub, 1)
            assert.deepStrictEqual(ran, ["o"])
            // Several polls later the paused job is still ready.
            yield* TestClock.adjust("1 second")
            const queuesInfo = yield* Admin.queues
            assert.deepStrictEqual(queuesInfo.map(({ name, paused, size }) => ({ name, size, paused })), [{ name: "paused_q", size: 1, paused: true }])
            yield* Admin.resume("paused_q")
            yield* awaitFinished(sub, 1)
            assert.deepStrictEqual(ran, ["o", "p"])
          }))
        }
      }))

    it.effect("an idle worker polls every interval; on PostgreSQL, where NOTIFY wakes it, its polls back off", () =>
      Effect.gen(function*() {
        yield* reset
        const spans = yield* recordSpans
        yield* handlers(probeHandler([]))
        yield* startWorker({ pollingInterval: "100 millis" })
        // 6 s of idle time in 100 ms steps, each given a moment of real time for the poll's round trip.
        for (let i = 0; i < 60; i++) {
          yield* TestClock.adjust("100 millis")
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 15)))
        }
        const polls = spans.filter((s) => s.name === "steady-queue.claim").length
        // Backing off: 100, 200, 400, 800 ms, then 1 s: about 9 polls; without, one per step.
        if (dialect === "pg") assert.isAtMost(polls, 15, `${polls} polls`)
        else assert.isAtLeast(polls, 25, `${polls} polls`)
        // Any job resets it: one enqueued here wakes the worker at once, whatever the wait.
        const sub = yield* subscribe
        yield* Probe.enqueue({ label: "after" })
        yield* awaitFinished(sub, 1)
      }).pipe(Effect.scoped))

    it.effect("the dispatcher moves due scheduled jobs to ready in batches", () =>
      Effect.gen(function*() {
        yield* reset
        const ran: Array<string> = []
        yield* handlers(probeHandler(ran))
        yield* JobClient.enqueueAll([
          ...Array.from({ length: 7 }, (_, i) => Probe.job({ label: `soon${i}` }, { delay: "1 minute" })),
          Probe.job({ label: "later" }, { delay: "1 hour" })
        ])
        const sub = yield* subscribe
        yield* Dispatcher.start({ batchSize: 3, pollingInterval: "10 seconds" })
        // The dispatcher wakes local workers when it makes jobs ready; a long poll keeps the clock steps cheap.
        yield* startWorker({ threads: 4, pollingInterval: "1 hour" })
        yield* TestClock.adjust("30 seconds")
        assert.strictEqual(yield* count("steady_queue_scheduled_executions"), 8)
        yield* advanceUntil(awaitFinished(sub, 7), "10 seconds")
        assert.strictEqual(ran.filter((l) => l.startsWith("soon")).length, 7)
        assert.strictEqual(yield* count("steady_queue_scheduled_executions"), 1)
        yield* advanceUntil(awaitFinished(sub, 1), "10 minutes")
        assert.include(ran, "later")
      }).pipe(Effect.scoped))

    it.effect("enqueue, claim, run, finish and fail are spans; a handler's spans are children of its run", () =>
      Effect.gen(function*() {
        yield* reset
        const ran: Array<string> = []
        yield* handlers(probeHandler(ran, (label) =>
          label === "bad" ? Effect.fail("bad label") : Effect.withSpan(Effect.void, "handler-work")))
        const spans = yield* recordSpans
        const sub = yield* subscribe
        const [good, bad] = yield* JobClient.enqueueAll([Probe.job({ label: "good" }, { queue: "traced" }), Probe.job({ label: "bad" })])
        yield* startWorker({ threads: 2 })
        yield* awaitFinished(sub, 2)
        const named = (name: string) => spans.filter((s) => s.name === name)

        assert.strictEqual(named("steady-queue.enqueue")[0]?.attributes.get("jobs"), 2)
        const claims = named("steady-queue.claim")
        assert.isAbove(claims.length, 0)
        // Two threads and, by default, nothing ahead before any job has ended.
        assert.strictEqual(claims[0].attributes.get("batchSize"), 2)
        assert.strictEqual(claims[0].attributes.get("queues"), "*")
        const run = (id: number) => named("steady-queue.run").find((s) => s.attributes.get("jobId") === id)
        const goodRun = run(good.id)
        assert.isDefined(goodRun)
        assert.deepStrictEqual(Object.fromEntries(goodRun!.attributes), { jobId: good.id, task: "Probe", queue: "traced", attempt: 1 })
        const work = named("handler-work")[0]
        assert.strictEqual(Option.getOrUndefined(work.parent)?.spanId, goodRun!.spanId)
        const badRun = run(bad.id)!
        assert.isTrue(badRun.status._tag === "Ended" && Exit.isFailure(badRun.status.exit))
        const fail = named("steady-queue.fail")[0]
        assert.strictEqual(fail.attributes.get("jobId"), bad.id)
        assert.strictEqual(Option.getOrUndefined(fail.parent)?.spanId, badRun.spanId)
        // The success was finished in a batch of its own (its Finished event is published within the span).
        assert.strictEqual(named("steady-queue.finish")[0].attributes.get("batchSize"), 1)
      }).pipe(Effect.scoped))

    it.effect("shutdown lets running jobs finish within the timeout, then releases the rest back to ready", () =>
      Effect.gen(function*() {
        yield* reset
        const quickGate = yield* Deferred.make<void>()
        const ran: Array<string> = []
        yield* handlers(probeHandler(ran, (label) => label === "quick" ? Deferred.await(quickGate) : Effect.never))
        const quick = yield* Probe.enqueue({ label: "quick" })
        const stuck = yield* Probe.enqueue({ label: "stuck" })
        const scope = yield* Scope.make()
        const workerId = yield* Scope.extend(startWorker({ threads: 2, shutdownTimeout: "10 seconds" }), scope)
        while (ran.length < 2) yield* Effect.yieldNow()
        const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
        yield* TestClock.adjust("1 second")
        yield* Deferred.succeed(quickGate, undefined) // finishes during the grace period
        yield* TestClock.adjust("10 seconds")
        yield* closing.await
        const state = (id: number) => Effect.map(JobClient.find(id), Option.map((j) => j.state))
        assert.deepStrictEqual(yield* state(quick.id), Option.some("finished" as const))
        assert.deepStrictEqual(yield* state(stuck.id), Option.some("ready" as const))
        assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
        assert.strictEqual(yield* count("steady_queue_processes", `id = ${workerId}`), 0)
      }).pipe(Effect.scoped))
  })
