/**
 * The command line's own output, without a database: help text for scripts and pipes (no colour codes, every
 * option with its default).
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, describe, it } from "vitest"
import { wantsPlain } from "../src/internal/PlainConsole.js"
import { scaled } from "./support/harness.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const run = promisify(execFile)
const esc = "\u001b["

const help = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  run(process.execPath, [path.join(root, "bin", "steady-queue.js"), ...args, "--help"], {
    cwd: root,
    env: { ...process.env, NODE_NO_WARNINGS: "1", ...env },
    timeout: scaled(60_000)
  }).then((r) => r.stdout)

describe("cli output", () => {
  it("--version prints the package's version without loading the CLI", async () => {
    const { stdout } = await run(process.execPath, [path.join(root, "bin", "steady-queue.js"), "--version"], { cwd: root })
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version: string }
    assert.strictEqual(stdout, `${pkg.version}\n`)
  })

  it("plain text when NO_COLOR is set or stdout is not a terminal, colour only on a terminal", () => {
    assert.isTrue(wantsPlain({ NO_COLOR: "1" }, true))
    assert.isTrue(wantsPlain({}, false))
    assert.isFalse(wantsPlain({}, true))
    assert.isFalse(wantsPlain({ NO_COLOR: "" }, true))
  })

  it("help piped to another program has no colour codes and gives every option's default", async () => {
    const list = await help(["jobs", "list"])
    assert.notInclude(list, esc)
    for (const text of ["(default: failed)", "(default: 25)", "(default: every queue)", "(default: $STEADY_QUEUE_DATABASE_URL)"]) {
      assert.include(list, text)
    }
    const dashboard = await help(["dashboard"], { NO_COLOR: "1" })
    assert.notInclude(dashboard, esc)
    for (const text of ["(default: 8080)", "(default: 127.0.0.1)", "(default: admin)"]) assert.include(dashboard, text)
    assert.include(await help(["start"]), "(default: steady-queue.config.ts)")
    const jobs = await help(["jobs"])
    assert.include(jobs, "- show [--database-url text] [--json] <id>")
    assert.include(jobs, "- cancel [--database-url text] [--json] <id>...")
    assert.include(jobs, "in-progress | claimed | blocked | finished | cancelled")
  }, scaled(180_000))
})
