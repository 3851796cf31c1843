/**
 * The supervisor's pidfile: one supervisor per host (per pidfile path). A file whose pid is no longer alive is
 * stale and taken over; the file is removed when the supervisor stops.
 */
import { FileSystem } from "@effect/platform"
import { Effect, Option, type Scope } from "effect"
import * as path from "node:path"
import { SupervisorAlreadyRunningError } from "../Errors.js"

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: it exists, it is just not ours to signal.
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** The pid in the file; a missing, unreadable or garbled file holds none. */
const readPid = (fs: FileSystem.FileSystem, file: string) =>
  fs.readFileString(file).pipe(
    Effect.map((text) => Option.filter(Option.some(Number.parseInt(text.trim(), 10)), (pid) => Number.isInteger(pid) && pid > 0)),
    Effect.orElseSucceed(() => Option.none<number>())
  )

const alreadyRunning = (pid: number, file: string) =>
  new SupervisorAlreadyRunningError({
    pid,
    pidfile: file,
    message: `a steady-queue supervisor (pid ${pid}) is already running on this host (pidfile ${file})`
  })

/** Writes this process's pid to `file` until the scope closes; fails if a live process holds it. */
export const acquire = (file: string): Effect.Effect<void, SupervisorAlreadyRunningError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    Effect.acquireRelease(
      Effect.gen(function*() {
        const existing = yield* readPid(fs, file)
        if (Option.isSome(existing) && alive(existing.value)) return yield* alreadyRunning(existing.value, file)
        // A pidfile that cannot be written is a broken installation, not something to run without.
        yield* Effect.orDie(fs.makeDirectory(path.dirname(file), { recursive: true }))
        yield* Effect.orDie(fs.writeFileString(file, `${process.pid}\n`))
      }),
      // Only our own: a supervisor that took over a file we had left is not ours to undo.
      () =>
        readPid(fs, file).pipe(
          Effect.flatMap((pid) => Option.contains(pid, process.pid) ? fs.remove(file, { force: true }) : Effect.void),
          Effect.catchAll((e) => Effect.logWarning(`steady-queue: could not remove the pidfile ${file}`, e))
        )
    ))
