/**
 * steady-queue on a database of its own beside the app's (two real databases per dialect), and the lock
 * conflicts a busy database settles by giving up on a transaction.
 */
import { assert, layer } from "@effect/vitest"
import { SqlClient, SqlError, Statement } from "@effect/sql"
import { MysqlClient } from "@effect/sql-mysql2"
import { PgClient } from "@effect/sql-pg"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Clock, Context, Effect, Either, Fiber, Layer, Logger, LogLevel, Redacted, TestClock, TestServices } from "effect"
import mysql from "mysql2/promise"
import { Dispatcher, JobClient, Migrations, SteadyQueue } from "../../src/index.js"
import { Store } from "../../src/internal/Store.js"
import * as Mysql from "../../src/mysql.js"
import * as Pg from "../../src/pg.js"
import * as Sqlite from "../../src/sqlite.js"
import { Db, type DialectName, reset, suiteLayer, type TestDatabase, testDatabase } from "../support/databases.js"
import {
  advanceUntil,
  awaitFinished,
  count,
  eventually,
  handlers,
  Probe,
  probeHandler,
  startWorker,
  subscribe
} from "../support/harness.js"

/** A plain client on a test database, as an app would have it. */
const plainClient = (db: TestDatabase): Layer.Layer<SqlClient.SqlClient> =>
  Layer.orDie(
    db.dialect === "pg"
      ? PgClient.layer({ url: Redacted.make(db.url), maxConnections: 4 })
      : db.dialect === "mysql"
      ? MysqlClient.layer({ url: Redacted.make(db.url), maxConnections: 4 })
      : SqliteClient.layer({ filename: db.url.slice("sqlite:".length) })
  )

const jobsIn = (sql: SqlClient.SqlClient) =>
  sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM steady_queue_jobs`.pipe(
    Effect.map((rows) => Number(rows[0].n)),
    Effect.orDie
  )

/** An enqueue inside the app client's transaction, which then commits or fails (and rolls back). */
const enqueueInAppTransaction = (appSql: SqlClient.SqlClient, outcome: "commit" | "rollback") =>
  Effect.either(appSql.withTransaction(Effect.gen(function*() {
    yield* Probe.enqueue({ label: outcome })
    if (outcome === "rollback") return yield* Effect.fail("app error" as const)
  })))

/** The app's database and a queue database, both migrated: an enqueue that went to the app's by mistake would land there without an error. */
class TwoDatabases extends Context.Tag("test/TwoDatabases")<TwoDatabases, {
  readonly app: TestDatabase
  readonly queue: TestDatabase
}>() {}

const twoDatabases = (dialect: DialectName) =>
  Layer.scoped(
    TwoDatabases,
    Effect.gen(function*() {
      const [app, queue] = yield* Effect.all([testDatabase(dialect), testDatabase(dialect)], { concurrency: 2 })
      yield* Effect.forEach([app, queue], (db) => Effect.provide(Migrations.runOnClient, plainClient(db)), { discard: true }).pipe(
        Effect.orDie
      )
      return { app, queue }
    })
  )

/** A plain client on `db` for the test's scope, on an emptied database. */
const emptied = (db: TestDatabase) =>
  Effect.gen(function*() {
    const sql = Context.get(yield* Layer.build(plainClient(db)), SqlClient.SqlClient)
    yield* Effect.provideService(reset, SqlClient.SqlClient, sql)
    return sql
  })

const separateQueueDatabase = (build: (db: TestDatabase) => Layer.Layer<SteadyQueue.Services>) =>
  Effect.gen(function*() {
    const { app, queue } = yield* TwoDatabases
    const appSql = yield* emptied(app)
    const queueSql = yield* emptied(queue)
    const services = yield* Layer.build(build(queue))
    const rolledBack = yield* Effect.provide(enqueueInAppTransaction(appSql, "rollback"), services)
    assert.deepStrictEqual(rolledBack, Either.left("app error"))
    // The enqueue committed on the queue database, on its own; the app's rollback did not take it back.
    assert.strictEqual(yield* jobsIn(queueSql), 1)
    assert.strictEqual(yield* jobsIn(appSql), 0)
    yield* Effect.provide(enqueueInAppTransaction(appSql, "commit"), services)
    // And nothing went to the app's database with the app's commit.
    assert.strictEqual(yield* jobsIn(queueSql), 2)
    assert.strictEqual(yield* jobsIn(appSql), 0)
  })

/** The entry point's own layer for the queue database, as the README's "separate queue database" builds it. */
const entryPointLayer = (db: TestDatabase): Layer.Layer<SteadyQueue.Services> =>
  Layer.orDie(
    db.dialect === "pg"
      ? Pg.layer({ url: db.url })
      : db.dialect === "mysql"
      ? Mysql.layer({ url: db.url })
      : Sqlite.layer({ filename: db.url.slice("sqlite:".length) })
  )

/**
 * A ready-made layer merged into an app that has a `SqlClient` of its own, in either order: the app's statements
 * still go to the app's database, steady-queue's (and its migrations) to the queue's.
 */
const mergedIntoApp = (queueLayer: (db: TestDatabase) => Layer.Layer<SteadyQueue.Services>) =>
  Effect.gen(function*() {
    const { app, queue } = yield* TwoDatabases
    const appSql = yield* emptied(app)
    const queueSql = yield* emptied(queue)
    for (const appLayer of [Layer.merge(plainClient(app), queueLayer(queue)), Layer.merge(queueLayer(queue), plainClient(app))]) {
      const context = yield* Layer.build(appLayer)
      yield* Effect.provide(Probe.enqueue({ label: "to the queue" }), context)
      assert.deepStrictEqual(yield* Effect.provide(Migrations.run, context).pipe(Effect.orDie), [])
      const appsClient = Context.get(context, SqlClient.SqlClient)
      // The client in the app's context reads the app's database: no job there, while the queue's has them.
      assert.strictEqual(yield* jobsIn(appsClient), 0)
      yield* appsClient`INSERT INTO steady_queue_pauses (queue_name, created_at) VALUES ('app-marker', 0)`.pipe(Effect.orDie)
      const marked = (sql: SqlClient.SqlClient) =>
        Effect.map(Effect.orDie(sql`SELECT queue_name FROM steady_queue_pauses`), (rows) => rows.length)
      assert.strictEqual(yield* marked(appSql), 1)
      assert.strictEqual(yield* marked(queueSql), 0)
      yield* appSql`DELETE FROM steady_queue_pauses`.pipe(Effect.orDie)
    }
    assert.strictEqual(yield* jobsIn(queueSql), 2)
    assert.strictEqual(yield* jobsIn(appSql), 0)
  })

/** A statement the database itself fails with a lock conflict (SQLite cannot be made to: its error, as the driver makes it). */
const lockConflict = (dialect: DialectName, sql: Statement.Constructor): Effect.Effect<Statement.Statement<unknown>> =>
  dialect === "pg"
    ? Effect.succeed(sql.unsafe("DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END $$"))
    : dialect === "mysql"
    ? Effect.succeed(sql.unsafe(
      "SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213, MESSAGE_TEXT = 'Deadlock found when trying to get lock; try restarting transaction'"
    ))
    : (Effect.fail(
      new SqlError.SqlError({
        cause: Object.assign(new Error("database is locked"), { name: "SqliteError", code: "SQLITE_BUSY" }),
        message: "Failed to execute statement"
      })
    ) as Effect.Effect<never, SqlError.SqlError> as unknown as Effect.Effect<Statement.Statement<unknown>>)

/** Runs `effect` with the first statement matching `step` failing once with a lock conflict; returns how many failed. */
const failingOnceAt = (dialect: DialectName, step: RegExp) =>
<A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    let failures = 0
    return Statement.withTransformer(effect, (self, sql) => {
      if (failures > 0 || !step.test(self.compile()[0])) return Effect.succeed(self)
      failures++
      return lockConflict(dialect, sql)
    }).pipe(Effect.map((result) => ({ result, failures })))
  })

/**
 * Runs `effect`, and EXPLAINs each DELETE from an execution table just before it runs (in its transaction, so on
 * the rows it sees); returns the access types the plans chose for that table.
 */
const explainingDeletes = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const plans: Record<string, Array<string>> = {}
    return Statement.withTransformer(effect, (self, sql) => {
      const [text, params] = self.compile()
      const table = /^DELETE\b.*?(steady_queue_(?:ready|scheduled)_executions)/s.exec(text)?.[1]
      if (table === undefined) return Effect.succeed(self)
      return sql.unsafe<{ table: string; type: string }>(`EXPLAIN ${text}`, params).pipe(
        Effect.map((rows) => {
          // The table's alias or name: whichever row reads the execution table.
          const reads = rows.filter((r) => r.table === table || r.table === "t").map((r) => r.type)
          plans[table] = [...(plans[table] ?? []), ...reads]
          return self
        }),
        Effect.orDie,
        Statement.withTransformerDisabled
      )
    }).pipe(Effect.map((result) => ({ result, plans })))
  })

interface LogLine {
  readonly level: LogLevel.LogLevel
  readonly text: string
}

/** Runs `effect` with every log line, debug included, collected in `lines`. */
const capturingLogs = (lines: Array<LogLine>) =>
<A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.provide(Logger.add(Logger.make(({ logLevel, message }) => {
      const parts = Array.isArray(message) ? message : [message]
      lines.push({ level: logLevel, text: parts.map(String).join(" ") })
    }))),
    Logger.withMinimumLogLevel(LogLevel.Debug)
  )

const atLeastWarning = (lines: ReadonlyArray<LogLine>) =>
  lines.filter((l) => LogLevel.greaterThanEqual(l.level, LogLevel.Warning)).map((l) => l.text)
const conflictRetries = (lines: ReadonlyArray<LogLine>) =>
  lines.filter((l) => l.level === LogLevel.Debug && l.text.includes("lost a lock conflict")).length

export const queueDatabaseSuite = (dialect: DialectName) => {
  layer(twoDatabases(dialect), { timeout: "60 seconds" })("separate queue database", (it) => {
    it.scoped("layer() on a second pool with joinAppTransactions: false keeps enqueues out of the app's transactions", () =>
      separateQueueDatabase((db) =>
        SteadyQueue.layer({ joinAppTransactions: false }).pipe(Layer.provideMerge(plainClient(db)), Layer.orDie)
      ))

    it.scoped("a ready-made layer (fromUrl) never joins the app's transactions", () =>
      separateQueueDatabase((db) => Layer.orDie(SteadyQueue.fromUrl(db.url))))

    it.scoped("the entry point's layer merged into an app leaves the app's SqlClient in place", () => mergedIntoApp(entryPointLayer))

    it.scoped("fromUrl merged into an app leaves the app's SqlClient in place", () =>
      mergedIntoApp((db) => Layer.orDie(SteadyQueue.fromUrl(db.url))))

    it.scoped("layer() on the app's own client joins its transactions: the enqueue commits and rolls back with them", () =>
      Effect.gen(function*() {
        const { app } = yield* TwoDatabases
        const appSql = yield* emptied(app)
        const services = yield* Layer.build(
          SteadyQueue.layer().pipe(Layer.provide(Layer.succeed(SqlClient.SqlClient, appSql)), Layer.orDie)
        )
        const rolledBack = yield* Effect.provide(enqueueInAppTransaction(appSql, "rollback"), services)
        assert.deepStrictEqual(rolledBack, Either.left("app error"))
        assert.strictEqual(yield* jobsIn(appSql), 0)
        yield* Effect.provide(enqueueInAppTransaction(appSql, "commit"), services)
        assert.strictEqual(yield* jobsIn(appSql), 1)
      }))

    it.scoped("the ready-made layer's own client used by the app: SQLite's one connection is joined, a server's pool is not", () =>
      Effect.gen(function*() {
        const { queue } = yield* TwoDatabases
        yield* emptied(queue)
        const services = yield* Layer.build(Layer.orDie(SteadyQueue.fromUrl(queue.url, { provideSqlClient: true })))
        const queueSql = Context.get(services, SqlClient.SqlClient)
        // On the live clock, so that the bound can fire: a statement waiting for SQLite's one connection never ends.
        const rolledBack = yield* TestServices.provideLive(
          Effect.provide(enqueueInAppTransaction(queueSql, "rollback"), services).pipe(
            Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => "the enqueue never finished" })
          )
        )
        assert.deepStrictEqual(rolledBack, Either.left("app error"))
        assert.strictEqual(yield* jobsIn(queueSql), dialect === "sqlite" ? 0 : 1)
      }))
  })

  layer(suiteLayer(dialect), { timeout: "60 seconds" })("lock conflicts", (it) => {
    it.scoped("a claim that loses a lock conflict runs again at once, and nothing is logged above debug", () =>
      Effect.gen(function*() {
        yield* reset
        const ran: Array<string> = []
        yield* handlers(probeHandler(ran))
        const sub = yield* subscribe
        yield* Probe.enqueue({ label: "claimed after a conflict" })
        const lines: Array<LogLine> = []
        const { failures } = yield* Effect.scoped(Effect.zipRight(startWorker(), advanceUntil(awaitFinished(sub, 1)))).pipe(
          failingOnceAt(dialect, /INSERT INTO steady_queue_claimed_executions/),
          capturingLogs(lines)
        )
        assert.strictEqual(failures, 1)
        assert.deepStrictEqual(ran, ["claimed after a conflict"])
        assert.deepStrictEqual(atLeastWarning(lines), [])
        assert.strictEqual(conflictRetries(lines), 1)
      }))

    it.scoped("a dispatch that loses a lock conflict runs again at once, and nothing is logged above debug", () =>
      Effect.gen(function*() {
        yield* reset
        yield* Probe.enqueue({ label: "due" }, { delay: "1 minute" })
        yield* TestClock.adjust("2 minutes")
        const lines: Array<LogLine> = []
        const { failures } = yield* Effect.scoped(Effect.zipRight(
          Dispatcher.start({ pollingInterval: "1 second" }),
          advanceUntil(eventually(Effect.map(count("steady_queue_ready_executions"), (n) => n === 1)))
        )).pipe(
          failingOnceAt(dialect, /INSERT INTO steady_queue_ready_executions/),
          capturingLogs(lines)
        )
        assert.strictEqual(failures, 1)
        assert.strictEqual(yield* count("steady_queue_scheduled_executions"), 0)
        assert.deepStrictEqual(atLeastWarning(lines), [])
        assert.strictEqual(conflictRetries(lines), 1)
      }))

    if (dialect === "mysql") {
      it.scoped("claims and dispatches delete the rows they locked by primary key, even from a small table", () =>
        Effect.gen(function*() {
          yield* reset
          const store = yield* Store
          const now = yield* Clock.currentTimeMillis
          // A table of about as many rows as the statement deletes is where MySQL plans `id IN (...)` as a full
          // scan, which locks every row it passes (other claims' rows too).
          yield* JobClient.enqueueAll(Array.from({ length: 8 }, (_, i) => Probe.job({ label: `ready ${i}` })))
          yield* JobClient.enqueueAll(Array.from({ length: 8 }, (_, i) => Probe.job({ label: `due ${i}` }, { delay: "1 minute" })))
          const { plans, result } = yield* explainingDeletes(
            Effect.zip(store.claim(undefined, 8, 1, now), store.scheduled.due(8, now + 120_000))
          )
          assert.deepStrictEqual(result.map((rows) => rows.length), [8, 8])
          assert.deepStrictEqual(Object.keys(plans).sort(), ["steady_queue_ready_executions", "steady_queue_scheduled_executions"])
          for (const [table, accesses] of Object.entries(plans)) assert.deepStrictEqual([table, accesses], [table, ["eq_ref"]])
        }))

      it.scoped("a real deadlock (claim against a transaction locking the same rows in the opposite order) is retried", () =>
        Effect.gen(function*() {
          yield* reset
          const { url } = yield* Db
          const store = yield* Store
          const now = yield* Clock.currentTimeMillis
          const processId = yield* store.processes.register(
            { kind: "Worker", name: `deadlock-${now}`, pid: 1, hostname: "test", supervisorId: null, metadata: "{}" },
            now
          )
          const first = yield* Probe.enqueue({ label: "first" })
          yield* Probe.enqueue({ label: "second" })
          // Weight for the other transaction, so that InnoDB picks the claim as the deadlock's victim.
          const heavy = yield* Effect.forEach(Array.from({ length: 20 }), (_, i) => Probe.enqueue({ label: `later ${i}` }, { delay: "1 hour" }))
          const other = yield* Effect.acquireRelease(
            Effect.promise(() => mysql.createConnection({ uri: url })),
            (c) => Effect.promise(() => c.end())
          )
          const deadlocks = Effect.promise(async () => {
            const [rows] = await other.query("SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'")
            return Number((rows as Array<{ Value: string }>)[0].Value)
          })
          const before = yield* deadlocks
          // The other transaction locks the first job's row; the claim locks its ready row, then waits for the job's
          // (its insert's foreign key check).
          yield* Effect.promise(async () => {
            await other.query("SET SESSION innodb_lock_wait_timeout = 10")
            await other.query("BEGIN")
            await other.query("UPDATE steady_queue_jobs SET updated_at = updated_at + 1 WHERE id IN (?)", [heavy.map((j) => j.id)])
            await other.query("SELECT id FROM steady_queue_jobs WHERE id = ? FOR UPDATE", [first.id])
          })
          const lines: Array<LogLine> = []
          const claim = yield* Effect.fork(capturingLogs(lines)(store.claim(undefined, 2, processId, now)))
          yield* eventually(Effect.promise(async () => {
            const [rows] = await other.query(
              `SELECT COUNT(*) AS n FROM information_schema.processlist
               WHERE db = DATABASE() AND info LIKE 'INSERT INTO steady_queue_claimed_executions%'`
            )
            return Number((rows as Array<{ n: number }>)[0].n) === 1
          }))
          // Now the other way round: the ready row the claim holds. One of the two must give up.
          yield* Effect.promise(async () => {
            await other.query("SELECT id FROM steady_queue_ready_executions WHERE job_id = ? FOR UPDATE", [first.id])
            await other.query("ROLLBACK")
          })
          const claimed = yield* Fiber.join(claim)
          // The server's counter (other databases on it may add to it).
          assert.isAtLeast((yield* deadlocks) - before, 1)
          assert.isAbove(claimed.length, 0)
          assert.deepStrictEqual(atLeastWarning(lines), [])
          assert.strictEqual(conflictRetries(lines), 1)
        }))
    }
  })
}
