/**
 * Loading the configuration module `steady-queue start --config` names. A `.js`/`.mjs` one loads with plain
 * Node. A TypeScript one needs a loader: tsx when the app has it (registered here, unless the CLI already runs
 * through it), else Node's own type stripping where the Node version has it; otherwise a one-line error.
 */
import { Effect } from "effect"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { InvalidConfigError } from "../Errors.js"

const loaderMarker = Symbol.for("steady-queue/typescript-loader")

// A name, not a literal: a bundler must not pull tsx into an app's bundle.
const tsxApi: string = "tsx/esm/api"

const isTypeScript = (file: string) => /\.[cm]?tsx?$/.test(file)

/** Registers tsx once, if it is installed; without it the import is left to Node (type stripping, or an error). */
const registerTypeScript = Effect.promise(async () => {
  const registry = globalThis as { [loaderMarker]?: boolean }
  if (registry[loaderMarker]) return
  try {
    const tsx = (await import(tsxApi)) as { readonly register: () => unknown }
    tsx.register()
    registry[loaderMarker] = true
  } catch {
    // Not installed: Node may still strip the types itself.
  }
})

const codeOf = (e: unknown) => (e as { readonly code?: unknown } | null)?.code

/** The module's exports; fails with one line when it cannot be loaded. */
export const importModule = (file: string) =>
  Effect.gen(function*() {
    if (isTypeScript(file)) yield* registerTypeScript
    const url = pathToFileURL(path.resolve(file)).href
    return yield* Effect.tryPromise({
      try: () => import(url) as Promise<{ readonly default?: unknown }>,
      catch: (e) =>
        new InvalidConfigError({
          message: isTypeScript(file) && codeOf(e) === "ERR_UNKNOWN_FILE_EXTENSION"
            ? `cannot load ${file}: a TypeScript configuration needs tsx (npm install --save-dev tsx) or a Node version that strips types; or use a .js configuration`
            : `could not load ${file}: ${String(e)}`
        })
    })
  })
