/**
 * A throwaway database for the small benchmark scripts: dropped, created and migrated; returns steady-queue's
 * layer (with its SqlClient) on it. PostgreSQL and MariaDB on the local servers, SQLite in a temp file.
 */
import mysql2 from "mysql2/promise"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import pg from "pg"
import * as My from "../src/mysql.js"
import * as Pg from "../src/pg.js"
import * as Sq from "../src/sqlite.js"

export const freshDatabase = async (dialect: string, db: string) => {
  if (dialect === "pg") {
    const c = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/test" })
    await c.connect()
    await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`)
    await c.query(`CREATE DATABASE ${db}`)
    await c.end()
    return Pg.layer({ url: `postgres://postgres@127.0.0.1:5432/${db}`, migrate: true, provideSqlClient: true, preparedStatements: process.env.BENCH_PREPARED !== "false" })
  }
  if (dialect === "mysql") {
    const c = await mysql2.createConnection({ host: "127.0.0.1", user: "root" })
    await c.query(`DROP DATABASE IF EXISTS ${db}`)
    await c.query(`CREATE DATABASE ${db}`)
    await c.end()
    return My.layer({ url: `mysql://root@127.0.0.1:3306/${db}`, migrate: true, provideSqlClient: true })
  }
  const dir = path.join(os.tmpdir(), "steady-queue-bench")
  fs.mkdirSync(dir, { recursive: true })
  const file = path.join(dir, `${db}.sqlite`)
  for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(file + suffix, { force: true })
  return Sq.layer({ filename: file, migrate: true, provideSqlClient: true })
}
