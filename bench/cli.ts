/**
 * The command line's start-up: `steady-queue --version` as an installed app runs it (bin/steady-queue.js, which
 * runs the compiled dist/ with plain node once `npm run build` has made it). One JSON line: the median and the
 * slowest of a few runs, in milliseconds.
 */
import { Console, Effect } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const runs = 7

const once = () => {
  const started = performance.now()
  execFileSync(process.execPath, [path.join(root, "bin", "steady-queue.js"), "--version"], { stdio: "pipe" })
  return performance.now() - started
}

export const cliBench = Effect.gen(function*() {
  const built = fs.existsSync(path.join(root, "dist", "bin.js"))
  once() // warm the file cache
  const times = Array.from({ length: runs }, once).sort((a, b) => a - b)
  const round = (ms: number) => Math.round(ms)
  yield* Console.log(JSON.stringify({
    bench: "cli",
    command: "steady-queue --version",
    from: built ? "dist" : "src (no build: through tsx)",
    median_ms: round(times[Math.floor(runs / 2)]),
    max_ms: round(times[runs - 1])
  }))
  return true
})
