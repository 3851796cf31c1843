/**
 * The databases the suites run against. Each test file gets a database of its own (a fresh PostgreSQL or
 * MariaDB database, or a fresh SQLite file), dropped when the file is done.
 *
 * A server that is down fails the run in CI (CI=true) and is skipped, loudly, elsewhere.
 */
import { SqlClient } from "@effect/sql"
import { MysqlClient } from "@effect/sql-mysql2"
import { Effect, Layer, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import mysql from "mysql2/promise"
import pg from "pg"
import { Migrations, SteadyQueue } from "../../src/index.js"
import * as PgPool from "../../src/internal/pgPool.js"
import * as RuntimeContext from "../../src/internal/RuntimeContext.js"
import * as Sqlite from "../../src/sqlite.js"

export type DialectName = "sqlite" | "pg" | "mysql"

export const pgAdminUrl = process.env.STEADY_QUEUE_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test"
export const mysqlAdminUrl = process.env.STEADY_QUEUE_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test"

const withDatabase = (url: string, database: string) => {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

const reachable: Record<DialectName, () => Promise<void>> = {
  sqlite: async () => {},
  pg: async () => {
    const client = new pg.Client({ connectionString: pgAdminUrl, connectionTimeoutMillis: 3000 })
    await client.connect()
    await client.end()
  },
  mysql: async () => {
    const conn = await mysql.createConnection({ uri: mysqlAdminUrl, connectTimeout: 3000 })
    await conn.end()
  }
}

const availability = new Map<DialectName, Promise<boolean>>()

/** Whether the dialect's server is up; in CI a missing server is an error, not a skip. */
export const isAvailable = (dialect: DialectName): Promise<boolean> => {
  let p = availability.get(dialect)
  if (!p) {
    p = reachable[dialect]().then(() => true, (error: unknown) => {
      const what = `${dialect === "pg" ? "PostgreSQL" : "MariaDB/MySQL"} is not reachable (${String(error)})`
      if (process.env.CI === "true") throw new Error(`${what}: CI requires every dialect's suite to run`)
      console.warn(`\n!!! SKIPPING the ${dialect} suite: ${what}. Start the server to run it. !!!\n`)
      return false
    })
    availability.set(dialect, p)
  }
  return p
}

const randomName = () => `sq_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`

export interface TestDatabase {
  readonly dialect: DialectName
  /** A URL for other connections or processes to reach the same database. */
  readonly url: string
}

/** Creates a throwaway database for the scope and drops it afterwards. */
export const testDatabase = (dialect: DialectName) =>
  Effect.acquireRelease(
    Effect.promise(async (): Promise<TestDatabase> => {
      const name = randomName()
      if (dialect === "sqlite") {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "steady-queue-"))
        return { dialect, url: `sqlite:${path.join(dir, `${name}.db`)}` }
      }
      if (dialect === "pg") {
        const client = new pg.Client({ connectionString: pgAdminUrl })
        await client.connect()
        await client.query(`CREATE DATABASE ${name}`)
        await client.end()
        return { dialect, url: withDatabase(pgAdminUrl, name) }
      }
      const conn = await mysql.createConnection({ uri: mysqlAdminUrl })
      await conn.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`)
      await conn.end()
      return { dialect, url: withDatabase(mysqlAdminUrl, name) }
    }),
    (db) =>
      Effect.promise(async () => {
        const name = new URL(db.url.replace(/^sqlite:/, "file:")).pathname.split("/").pop()!
        if (db.dialect === "sqlite") {
          fs.rmSync(path.dirname(db.url.slice("sqlite:".length)), { recursive: true, force: true })
        } else if (db.dialect === "pg") {
          const client = new pg.Client({ connectionString: pgAdminUrl })
          await client.connect()
          await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
          await client.end()
        } else {
          const conn = await mysql.createConnection({ uri: mysqlAdminUrl })
          await conn.query(`DROP DATABASE IF EXISTS ${name}`)
          await conn.end()
        }
      }).pipe(Effect.ignore)
  )

export class Db extends Effect.Tag("test/Db")<Db, TestDatabase>() {}

/**
 * A SqlClient on the test database (a separate pool each time it is built); on PostgreSQL, the entry point's pool
 * (its prepared statements); on SQLite, the entry point's client (its pragmas), and nothing else of that layer's.
 */
export const clientLayer = (db: TestDatabase): Layer.Layer<SqlClient.SqlClient> => {
  const layer = db.dialect === "pg"
    ? PgPool.layer({ url: db.url, maxConnections: 10 })
    : db.dialect === "mysql"
    ? MysqlClient.layer({ url: Redacted.make(db.url), maxConnections: 10 })
    : Layer.effect(SqlClient.SqlClient, SqlClient.SqlClient).pipe(
      Layer.provide(Sqlite.layer({ filename: db.url.slice("sqlite:".length), provideSqlClient: true }))
    )
  return Layer.orDie(layer)
}

/**
 * The layer a suite shares: a fresh, migrated database and steady-queue's services on it, with the client and
 * (for tests that reach inside) the store and wake-up.
 */
export const suiteLayer = (dialect: DialectName) =>
  Layer.unwrapScoped(Effect.map(testDatabase(dialect), (db) =>
    RuntimeContext.internalsLayer.pipe(
      Layer.provideMerge(SteadyQueue.layer({ migrate: true })),
      Layer.provideMerge(clientLayer(db)),
      Layer.merge(Layer.succeed(Db, db)),
      Layer.orDie
    )))

const tablesChildrenFirst = [
  "steady_queue_attempts",
  "steady_queue_cancelled_executions",
  "steady_queue_recurring_executions",
  "steady_queue_ready_executions",
  "steady_queue_scheduled_executions",
  "steady_queue_claimed_executions",
  "steady_queue_blocked_executions",
  "steady_queue_failed_executions",
  "steady_queue_jobs",
  "steady_queue_pauses",
  "steady_queue_semaphores",
  "steady_queue_processes",
  "steady_queue_recurring_tasks"
]

/** Empties every table between tests. */
export const reset = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  for (const table of tablesChildrenFirst) yield* sql`DELETE FROM ${sql(table)}`
}).pipe(Effect.orDie)

export const migrateAgain = Migrations.run
