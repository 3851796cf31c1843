/**
 * vitest global setup: bundles the programs the multi-process tests start into one plain JavaScript file each,
 * once per run. A child started with `node --import tsx` spends 3 to 4 s of CPU loading the sources and their
 * dependencies through tsx's loader (8 s or more of wall time on a busy 2-core machine, for every supervisor and
 * every forked worker); the bundle starts in under 1 s. Native drivers stay outside the bundle. If bundling
 * fails, the children run through tsx as before (processes.ts).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { TestProject } from "vitest/node"

/** The scripts spawnChild may be given, relative to the repository. */
export const childScripts = ["test/support/child-worker.ts"] as const

declare module "vitest" {
  export interface ProvidedContext {
    /** Script (as passed to spawnChild) to its bundle's absolute path. */
    childBundles: Record<string, string>
  }
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

export default async function setup(project: TestProject) {
  // Inside the repository (tmp/ is ignored by git) so that the external drivers resolve from node_modules.
  fs.mkdirSync(path.join(root, "tmp"), { recursive: true })
  const dir = fs.mkdtempSync(path.join(root, "tmp", "children-"))
  const bundles: Record<string, string> = {}
  try {
    const esbuild = await import("esbuild")
    for (const script of childScripts) {
      const outfile = path.join(dir, `${path.basename(script, ".ts")}.mjs`)
      await esbuild.build({
        entryPoints: [path.join(root, script)],
        outfile,
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        external: ["better-sqlite3", "pg-native"],
        // Bundled CommonJS dependencies call require().
        banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
        logLevel: "error"
      })
      bundles[script] = outfile
    }
  } catch (error) {
    console.warn(`\n!!! child programs run through tsx (slower): bundling failed: ${String(error)} !!!\n`)
  }
  project.provide("childBundles", bundles)
  return () => fs.rmSync(dir, { recursive: true, force: true })
}
