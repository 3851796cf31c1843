import { assert, layer } from "@effect/vitest"
import { Effect, TestServices } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Db, type DialectName, reset, suiteLayer } from "../support/databases.js"
import { count, eventually, Probe } from "../support/harness.js"
import { waitForExit } from "../support/processes.js"

const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  spawn(process.execPath, ["bin/steady-queue.js", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, STEADY_QUEUE_DATABASE_URL: "", NODE_NO_WARNINGS: "1", ...env }
  })

const exitOf = (args: ReadonlyArray<string>, env?: Record<string, string>) =>
  Effect.promise(() => waitForExit(cli(args, env), 30_000))

export const cliSuite = (dialect: DialectName) =>
  layer(suiteLayer(dialect), { timeout: "60 seconds" })("cli", (it) => {
    it.effect("migrate takes the database from --database-url or STEADY_QUEUE_DATABASE_URL, and says what is missing", () =>
      Effect.gen(function*() {
        const db = yield* Db
        const byFlag = yield* exitOf(["migrate", "--database-url", db.url])
        assert.strictEqual(byFlag.code, 0, byFlag.output)
        assert.include(byFlag.output, "schema up to date") // the suite's layer migrated it already
        const byEnv = yield* exitOf(["migrate"], { STEADY_QUEUE_DATABASE_URL: db.url })
        assert.strictEqual(byEnv.code, 0, byEnv.output)
        if (dialect !== "sqlite") return // the rest does not depend on the database
        const missing = yield* exitOf(["migrate"])
        assert.strictEqual(missing.code, 1)
        assert.include(missing.output, "pass --database-url or set STEADY_QUEUE_DATABASE_URL")
        const badUrl = yield* exitOf(["migrate", "--database-url", "oracle://nope"])
        assert.strictEqual(badUrl.code, 1)
        assert.include(badUrl.output, "unsupported database URL")
      }).pipe(TestServices.provideLive), 60_000)

    it.effect("start runs the supervisor from a configuration module until SIGTERM", () =>
      Effect.gen(function*() {
        yield* reset
        const db = yield* Db
        const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "steady-queue-")), "cli.txt")
        yield* Probe.enqueue({ label: "via-cli" })
        const child = cli(["start", "--config", "test/support/cli.config.ts"], { STEADY_QUEUE_DATABASE_URL: db.url, PROBE_OUT: out })
        const exited = waitForExit(child, 30_000)
        yield* eventually(Effect.map(count("steady_queue_jobs", "finished_at IS NOT NULL"), (n) => n === 1))
        assert.deepStrictEqual(fs.readFileSync(out, "utf8").trim().split("\n"), ["via-cli"])
        child.kill("SIGTERM")
        const exit = yield* Effect.promise(() => exited)
        assert.strictEqual(exit.code, 0, exit.output)
        assert.strictEqual(yield* count("steady_queue_processes"), 0)
      }).pipe(TestServices.provideLive), 60_000)
  })
