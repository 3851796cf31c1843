/**
 * Fork mode: the supervisor runs each worker and dispatcher in a child process that re-runs the program's
 * entry module with its role in the environment, and restarts a child that dies. A child exits by itself
 * when its supervisor is gone (the IPC channel closes, also when the supervisor is SIGKILLed).
 */
import { Deferred, Duration, Effect, Fiber, Option, type Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { ProcessExitError } from "../Errors.js"
import { failProcess } from "./Prune.js"
import * as RetryPolicy from "./RetryPolicy.js"
import { awaitQuit, isQuitting } from "./Signals.js"
import { Store } from "./Store.js"

export const roleVariable = "STEADY_QUEUE_ROLE"
export const supervisorVariable = "STEADY_QUEUE_SUPERVISOR_ID"

export type Role = { readonly kind: "worker" | "dispatcher" | "scheduler"; readonly index: number }

/** The role this process was started for, when it is a forked child. */
export const currentRole = (): Option.Option<Role & { readonly supervisorId: number }> => {
  const match = /^(worker|dispatcher|scheduler):(\d+)$/.exec(process.env[roleVariable] ?? "")
  const supervisorId = Number(process.env[supervisorVariable])
  return match && Number.isInteger(supervisorId)
    ? Option.some({ kind: match[1] as Role["kind"], index: Number(match[2]), supervisorId })
    : Option.none()
}

/** In a child: shut down gracefully once the supervisor is gone; stops watching when the scope closes. */
export const watchParent: Effect.Effect<void, never, Scope.Scope> = Effect.suspend(() => {
  if (process.send === undefined) return Effect.void
  const stop = () => process.kill(process.pid, "SIGTERM")
  return Effect.acquireRelease(
    Effect.sync(() => {
      process.on("disconnect", stop)
      // The supervisor may have died while this child was still starting: then "disconnect" has already happened.
      if (!process.connected) stop()
    }),
    () => Effect.sync(() => process.removeListener("disconnect", stop))
  )
})

// `child_process`, not @effect/platform's CommandExecutor: a child needs the IPC channel (its "disconnect" is how
// it notices a SIGKILLed supervisor), and must stay in the supervisor's process group so that a terminal's Ctrl-C
// reaches it. CommandExecutor has neither (three stdio streams, a detached group), and its scope would SIGTERM
// the group on close, where `stop` below escalates TERM, QUIT, KILL on its own schedule.
const spawnRole = (role: Role, supervisorId: number): ChildProcess =>
  spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    env: { ...process.env, [roleVariable]: `${role.kind}:${role.index}`, [supervisorVariable]: String(supervisorId) },
    stdio: ["inherit", "inherit", "inherit", "ipc"]
  })

interface ChildExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

const exitOf = (child: ChildProcess) =>
  Effect.async<ChildExit>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      return resume(Effect.succeed({ code: child.exitCode, signal: child.signalCode }))
    }
    child.once("exit", (code, signal) => resume(Effect.succeed({ code, signal })))
  })

/** Fails the jobs a dead child still held, with the way it died. */
const reapChild = (supervisorId: number, pid: number, exit: ChildExit, defaultRetry: RetryPolicy.RetryPolicy) =>
  Effect.gen(function*() {
    const store = yield* Store
    for (const id of yield* store.processes.bySupervisorAndPid(supervisorId, pid)) {
      const failed = yield* failProcess(id, new ProcessExitError({
        processId: id,
        exitCode: exit.code,
        signal: exit.signal,
        message: `process ${id} (pid ${pid}) exited unexpectedly (${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`})`
      }), defaultRetry)
      if (failed.length > 0) yield* Effect.logWarning(`steady-queue: ${failed.length} job(s) of process ${id} failed with ProcessExitError`)
    }
  }).pipe(Effect.catchAll((e) => Effect.logError("steady-queue: could not fail the jobs of a dead child", e)))

export interface Children {
  /**
   * TERM, then QUIT after `shutdownTimeout` (or as soon as this process quits), then KILL; jobs of children that
   * had to be killed are failed.
   */
  readonly stop: (shutdownTimeout: Duration.DurationInput) => Effect.Effect<void, never, Store>
}

/** Starts one child per role and keeps it running until `stop`. */
export const supervise = (roles: ReadonlyArray<Role>, supervisorId: number, defaultRetry: RetryPolicy.RetryPolicy = RetryPolicy.never) =>
  Effect.gen(function*() {
    const live = new Map<Role, ChildProcess>()
    const stopping = yield* Deferred.make<void>()

    const keepRunning = (role: Role) =>
      Effect.gen(function*() {
        while (true) {
          const child = spawnRole(role, supervisorId)
          live.set(role, child)
          const exit = yield* exitOf(child)
          live.delete(role)
          if (yield* Deferred.isDone(stopping)) return
          yield* Effect.logWarning(`steady-queue: ${role.kind} ${role.index} (pid ${child.pid}) exited (${exit.signal ?? exit.code}); restarting`)
          if (child.pid !== undefined) yield* reapChild(supervisorId, child.pid, exit, defaultRetry)
          yield* Effect.sleep(Duration.seconds(1))
        }
      })
    // In the scope, not children of the fiber that starts them: they live as long as the supervisor.
    const fibers = yield* Effect.forEach(roles, (role) => Effect.forkScoped(keepRunning(role)))

    const stop = (shutdownTimeout: Duration.DurationInput) =>
      Effect.gen(function*() {
        yield* Deferred.succeed(stopping, undefined)
        yield* Effect.forEach(fibers, Fiber.interrupt, { discard: true })
        const children = [...live.values()].filter((c) => c.exitCode === null && c.signalCode === null)
        const allExited = Effect.forEach(children, exitOf, { concurrency: "unbounded", discard: true })
        const waitAll = (within: Duration.DurationInput) => allExited.pipe(Effect.timeoutOption(within))
        const quitAlive = () => {
          for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGQUIT")
        }
        // On SIGQUIT (or a second SIGTERM/SIGINT) the children quit too; otherwise they get the grace period
        // first, which such a signal during it cuts short.
        if (yield* isQuitting) {
          quitAlive()
        } else {
          for (const child of children) child.kill("SIGTERM")
          const exited = yield* Effect.raceFirst(Effect.as(allExited, true), Effect.as(awaitQuit, false)).pipe(
            Effect.interruptible,
            Effect.timeoutOption(shutdownTimeout)
          )
          if (Option.getOrElse(exited, () => false)) return
          quitAlive()
        }
        if (Option.isSome(yield* waitAll(Duration.seconds(5)))) return
        for (const child of children) {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill("SIGKILL")
            const exit = yield* exitOf(child)
            if (child.pid !== undefined) yield* reapChild(supervisorId, child.pid, exit, defaultRetry)
          }
        }
      })
    return { stop } satisfies Children
  })
