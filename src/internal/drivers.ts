/**
 * The drivers' entry points, loaded only when a layer that needs one is built, so that importing steady-queue
 * never loads a driver the app did not install.
 */
import { Effect } from "effect"
import { MissingDriverError } from "../Errors.js"

const drivers = {
  pg: { packageName: "@effect/sql-pg", load: () => import("../pg.js") },
  mysql: { packageName: "@effect/sql-mysql2", load: () => import("../mysql.js") },
  sqlite: { packageName: "@effect/sql-sqlite-node", load: () => import("../sqlite.js") }
} as const

/** A driver's entry point, loaded when a layer is built; a driver the app has not installed is a one-line error. */
export const loadDriver = <K extends keyof typeof drivers>(
  name: K
): Effect.Effect<Awaited<ReturnType<(typeof drivers)[K]["load"]>>, MissingDriverError> => {
  const { load, packageName } = drivers[name]
  return Effect.tryPromise({
    try: load as () => Promise<Awaited<ReturnType<(typeof drivers)[K]["load"]>>>,
    catch: (e) => {
      const missing = (e as { readonly code?: unknown } | null)?.code === "ERR_MODULE_NOT_FOUND" &&
        String((e as Error).message).includes(packageName)
      return new MissingDriverError({
        packageName,
        message: missing
          ? `the database driver ${packageName} is not installed: npm install ${packageName}`
          : `could not load the database driver ${packageName}: ${String(e instanceof Error ? e.message : e).split("\n")[0]}`
      })
    }
  })
}

