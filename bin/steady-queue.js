#!/usr/bin/env node
// An installed package runs the compiled CLI (dist/) with plain node. A checkout of the repository (it has
// tsconfig.json, which the package does not ship) runs the sources through tsx instead, so that they are never
// stale; it falls back to dist/ if tsx is not installed.
import { existsSync, readFileSync } from "node:fs"

// `--version` alone needs none of the CLI: answer it before loading anything.
if (process.argv.length === 3 && process.argv[2] === "--version") {
  const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
  process.stdout.write(`${version}\n`)
  process.exit(0)
}

const inRepository = existsSync(new URL("../tsconfig.json", import.meta.url)) &&
  existsSync(new URL("../src/bin.ts", import.meta.url))

const fromSources = async () => {
  let tsx
  try {
    tsx = await import("tsx/esm/api")
  } catch {
    return false
  }
  tsx.register()
  // Tells the CLI that TypeScript configuration modules load already (src/internal/ConfigModule.ts).
  globalThis[Symbol.for("steady-queue/typescript-loader")] = true
  await import("../src/bin.ts")
  return true
}

if (!(inRepository && (await fromSources()))) await import("../dist/bin.js")
