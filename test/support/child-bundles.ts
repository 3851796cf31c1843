/**
 * vitest global setup: bundles the programs the multi-process tests start into one plain JavaScript file each,
 * kept in tmp/test-children and rebuilt when a file it is built from changes. A child started with
 * `node --import tsx` spends 3 to 4 s of CPU loading the sources and their dependencies through tsx's loader (8 s
 * or more of wall time on a busy 2-core machine, for every supervisor and every forked worker); the bundle starts
 * in under 1 s. Native drivers stay outside the bundle. If bundling fails, the children run through tsx as
 * before (processes.ts).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { BuildOptions } from "esbuild"
import type { TestProject } from "vitest/node"

/** The scripts spawnChild may be given, relative to the repository. */
export const childScripts = ["test/support/child-worker.ts", "test/support/handle-worker.ts"] as const

declare module "vitest" {
  export interface ProvidedContext {
    /** Script (as passed to spawnChild) to its bundle's absolute path. */
    childBundles: Record<string, string>
  }
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

const options: BuildOptions = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["better-sqlite3", "pg-native"],
  // Bundled CommonJS dependencies call require().
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: "error"
}

interface Manifest {
  readonly options: string
  readonly inputs: ReadonlyArray<string>
}

/** The bundle is current if it was built with these options after every file it was built from last changed. */
const isCurrent = (outfile: string, manifestFile: string) => {
  try {
    const built = fs.statSync(outfile).mtimeMs
    const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8")) as Manifest
    return manifest.options === JSON.stringify(options) && manifest.inputs.every((f) => fs.statSync(f).mtimeMs <= built)
  } catch {
    return false
  }
}

export default async function setup(project: TestProject) {
  // Inside the repository (tmp/ is ignored by git) so that the external drivers resolve from node_modules. Kept
  // between runs and rebuilt when a file it was built from changed.
  const dir = path.join(root, "tmp", "test-children")
  fs.mkdirSync(dir, { recursive: true })
  const bundles: Record<string, string> = {}
  try {
    for (const script of childScripts) {
      const outfile = path.join(dir, `${path.basename(script, ".ts")}.mjs`)
      const manifestFile = `${outfile}.json`
      if (!isCurrent(outfile, manifestFile)) {
        const esbuild = await import("esbuild")
        const started = new Date()
        const tmp = `${outfile}.${process.pid}.tmp`
        const result = await esbuild.build({ ...options, entryPoints: [path.join(root, script)], outfile: tmp, metafile: true })
        const manifest: Manifest = {
          options: JSON.stringify(options),
          inputs: Object.keys(result.metafile?.inputs ?? {}).map((f) => path.resolve(process.cwd(), f))
        }
        // Stamped with the start of the build, so that a file changed while it ran counts as newer. Renamed into
        // place, so that a run going on at the same time never starts a half-written file.
        fs.utimesSync(tmp, started, started)
        fs.writeFileSync(`${tmp}.json`, JSON.stringify(manifest))
        fs.renameSync(`${tmp}.json`, manifestFile)
        fs.renameSync(tmp, outfile)
      }
      bundles[script] = outfile
    }
  } catch (error) {
    console.warn(`\n!!! child programs run through tsx (slower): bundling failed: ${String(error)} !!!\n`)
  }
  project.provide("childBundles", bundles)
}
