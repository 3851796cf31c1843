/**
 * The package as an app gets it: `npm pack`, then a fresh app in a temp directory that installs the tarball with
 * exactly the `npm install` lines of README.md's Installation section (from the npm cache where it can), compiles
 * with `tsc` (strict; `NodeNext`, then `Bundler`) and runs with plain `node`, on SQLite and on PostgreSQL. The
 * installs skip install scripts: the only one that matters is the SQLite driver's native build (see
 * `provideSqliteBinary`).
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { isAvailable, pgAdminUrl } from "./support/databases.js"
import { scaled } from "./support/harness.js"
import pg from "pg"

const run = promisify(execFile)
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const minutes = (n: number) => scaled(n * 60_000)

/** The `npm install` lines of README.md's Installation section, by what they install. */
const readmeInstallLines = () => {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
  const start = readme.indexOf("\n## Installation")
  assert.isAtLeast(start, 0, "README.md has an Installation section")
  const section = readme.slice(start + 1, readme.indexOf("\n## ", start + 1))
  const lines = section.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("npm install "))
  const find = (what: string, test: (line: string) => boolean) => {
    const line = lines.find(test)
    assert.isDefined(line, `README.md's Installation section has an npm install line for ${what}`)
    return line!
  }
  return {
    sqlite: find("SQLite", (l) => l.includes("@effect/sql-sqlite-node")),
    pg: find("PostgreSQL", (l) => l.includes("@effect/sql-pg")),
    typescript: find("TypeScript", (l) => / -D /.test(l) && l.includes("typescript"))
  }
}

/** An `npm install ...` line as arguments, with the package itself taken from the tarball. */
const installArgs = (line: string, tarball: string) =>
  line.replace(/\s+#.*$/, "").split(/\s+/).slice(1).map((arg) => (arg === "steady-queue" ? tarball : arg))

const npm = (cwd: string, args: ReadonlyArray<string>) =>
  run("npm", [...args, "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd,
    env: { ...process.env, npm_config_update_notifier: "false" },
    maxBuffer: 16 * 1024 * 1024
  })

const tsconfig = (moduleResolution: "NodeNext" | "Bundler", outDir: string) => ({
  compilerOptions: {
    target: "ES2022",
    module: moduleResolution === "NodeNext" ? "NodeNext" : "ESNext",
    moduleResolution,
    // DOM: @effect/platform's own declarations name Transferable and ImageData. No skipLibCheck, so the
    // package's declarations are checked too, under the app's strictest settings.
    lib: ["ES2022", "DOM"],
    types: ["node"],
    skipLibCheck: false,
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noPropertyAccessFromIndexSignature: true,
    outDir,
    rootDir: "src"
  },
  include: ["src"]
})

/** One task, enqueued, run by a worker and found finished: the smallest real use of the package. */
const main = (entry: "sqlite" | "pg") => `
import { Effect, Layer, Option, Schema } from "effect"
import { JobClient, Task, Worker } from "steady-queue"
import * as Database from "steady-queue/${entry}"

const Greet = Task.make("Greet", { payload: Schema.Struct({ name: Schema.String }) })
let greeted = ""
const handlers = Greet.toLayer(({ name }) => Effect.sync(() => { greeted = name }))
const target = process.argv[2] ?? ""
const database = ${entry === "sqlite" ? "Database.layer({ filename: target, migrate: true })" : "Database.layer({ url: target, migrate: true })"}

const program = Effect.gen(function* () {
  const job = yield* Greet.enqueue({ name: "from an installed package" })
  yield* Worker.start({ pollingInterval: "20 millis", threads: 1 })
  for (let i = 0; i < 500; i++) {
    const info = yield* JobClient.find(job.id)
    if (Option.isSome(info) && info.value.state === "finished") return \`finished \${job.id}: \${greeted}\`
    yield* Effect.sleep("20 millis")
  }
  return yield* Effect.dieMessage("the job did not finish within 10 s")
}).pipe(Effect.scoped, Effect.provide(handlers.pipe(Layer.provideMerge(database))))

Effect.runPromise(program).then(
  (line) => { console.log(line); process.exit(0) },
  (error: unknown) => { console.error(error); process.exit(1) }
)
`

const pgUp = await isAvailable("pg")

/**
 * The one native build on the way is the SQLite driver's (better-sqlite3), not ours, and it takes minutes of CPU
 * on 2 cores: the app's install skips install scripts, and gets the binary this repository built for the same
 * version of better-sqlite3 (or builds its own when the versions differ).
 */
const provideSqliteBinary = async (app: string) => {
  const binary = (dir: string) => path.join(dir, "node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node")
  const version = (dir: string) =>
    (JSON.parse(fs.readFileSync(path.join(dir, "node_modules", "better-sqlite3", "package.json"), "utf8")) as { version: string }).version
  if (fs.existsSync(binary(root)) && version(root) === version(app)) {
    fs.mkdirSync(path.dirname(binary(app)), { recursive: true })
    fs.copyFileSync(binary(root), binary(app))
  } else {
    await npm(app, ["rebuild", "better-sqlite3"])
  }
}

let work = ""
let tarball = ""
let app = ""

const compileAndRun = async (entry: "sqlite" | "pg", target: string) => {
  fs.writeFileSync(path.join(app, "src", "main.ts"), main(entry))
  for (const resolution of ["NodeNext", "Bundler"] as const) {
    const outDir = `dist-${resolution.toLowerCase()}`
    fs.writeFileSync(path.join(app, `tsconfig.${resolution}.json`), JSON.stringify(tsconfig(resolution, outDir), null, 2))
    await run(path.join(app, "node_modules", ".bin", "tsc"), ["-p", `tsconfig.${resolution}.json`], { cwd: app }).catch(
      (e: { stdout?: string }) => assert.fail(`tsc (${resolution}) failed:\n${e.stdout ?? String(e)}`)
    )
    const { stdout } = await run(process.execPath, [path.join(outDir, "main.js"), target], { cwd: app, timeout: scaled(60_000) })
    assert.match(stdout.trim(), /^finished \d+: from an installed package$/, `${entry} app built with ${resolution}`)
  }
}

describe("the installed package", () => {
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "steady-queue-install-"))
    const { stdout } = await npm(root, ["pack", "--pack-destination", work, "--silent"])
    tarball = path.join(work, stdout.trim().split("\n").pop()!)
    app = path.join(work, "app")
    fs.mkdirSync(path.join(app, "src"), { recursive: true })
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }))
  }, minutes(5))

  afterAll(() => {
    if (work !== "") fs.rmSync(work, { recursive: true, force: true })
  })

  it("with SQLite: installed by the README's lines, compiled with tsc (NodeNext and Bundler), run by plain node", async () => {
    const lines = readmeInstallLines()
    await npm(app, [...installArgs(lines.sqlite, tarball), "--ignore-scripts"])
    await provideSqliteBinary(app)
    await npm(app, [...installArgs(lines.typescript, tarball), "--ignore-scripts"])
    // Only the driver the app installed: the main entry point must not need the others.
    assert.isFalse(fs.existsSync(path.join(app, "node_modules", "@effect", "sql-pg")), "@effect/sql-pg was not installed")
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", "const m = await import('steady-queue'); console.log(typeof m.Task.make)"], { cwd: app })
    assert.strictEqual(stdout.trim(), "function")
    await compileAndRun("sqlite", path.join(work, "queue.db"))
  }, minutes(6))

  it.skipIf(!pgUp)("with PostgreSQL: the driver added by its README line, the same app on steady-queue/pg", async () => {
    const database = `sq_install_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
    const admin = new pg.Client({ connectionString: pgAdminUrl })
    await admin.connect()
    await admin.query(`CREATE DATABASE ${database}`)
    try {
      await npm(app, [...installArgs(readmeInstallLines().pg, tarball), "--ignore-scripts"])
      const url = new URL(pgAdminUrl)
      url.pathname = `/${database}`
      await compileAndRun("pg", url.toString())
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
      await admin.end()
    }
  }, minutes(4))
})
