/**
 * The supervisor's pidfile: one supervisor per host (per pidfile path). A file whose pid is no longer alive is
 * stale and taken over; the file is removed when the supervisor stops.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
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

const readPid = (file: string): number | undefined => {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, "utf8").trim(), 10)
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

export const acquire = (file: string) =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const existing = readPid(file)
      if (existing !== undefined && alive(existing)) {
        return Effect.fail(
          new SupervisorAlreadyRunningError({
            pid: existing,
            pidfile: file,
            message: `a steady-queue supervisor (pid ${existing}) is already running on this host (pidfile ${file})`
          })
        )
      }
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, `${process.pid}\n`)
      return Effect.void
    }),
    () => Effect.sync(() => readPid(file) === process.pid && fs.rmSync(file, { force: true }))
  )
