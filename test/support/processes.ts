/**
 * Child processes for the multi-process tests, always with a bounded wait, never left behind.
 *
 * A child started with `startChild` or `track` belongs to the test's scope: if it still runs when the scope closes
 * (the test failed or timed out), it and its own children (fork mode) are SIGKILLed. Any child still running when
 * the test worker exits is SIGKILLed then.
 * Bounds are stretched by the time scale (scale.ts).
 */
import { Effect, type Scope, TestServices } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { inject } from "vitest"
import { describeBound, scaled } from "./scale.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

const running = new Set<ChildProcess>()
let reaperInstalled = false
const watch = (child: ChildProcess) => {
  if (!reaperInstalled) {
    reaperInstalled = true
    process.once("exit", () => {
      for (const c of running) c.kill("SIGKILL")
    })
  }
  running.add(child)
  child.once("exit", () => running.delete(child))
  return child
}

/** The bundle child-bundles.ts built for `script`, when there is one (else the child runs through tsx). */
const bundleOf = (script: string): string | undefined => {
  let bundles: Record<string, string> | undefined
  try {
    bundles = inject("childBundles")
  } catch {
    bundles = undefined // not under vitest's global setup
  }
  const bundle = bundles?.[script]
  return bundle !== undefined && fs.existsSync(bundle) ? bundle : undefined
}

/** Starts a test program; `config` reaches a supervisor as STEADY_QUEUE_CONFIG. */
export const spawnChild = (script: string, args: ReadonlyArray<string>, config?: object): ChildProcess => {
  const bundle = bundleOf(script)
  return watch(spawn(process.execPath, [...(bundle ? [bundle] : ["--import", "tsx", path.join(root, script)]), ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      NODE_NO_WARNINGS: "1",
      ...(config === undefined ? {} : { STEADY_QUEUE_CONFIG: JSON.stringify(config) })
    }
  }))
}

/**
 * Resolves with the exit code and signal, or kills the child and rejects after `ms` (scaled). The output is what
 * the child printed after this call: prefer `track`, which collects it from the start.
 */
export const waitForExit = (child: ChildProcess, ms: number) => {
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve, reject) => {
    watch(child)
    const bound = scaled(ms)
    let output = ""
    child.stdout?.on("data", (d) => (output += String(d)))
    child.stderr?.on("data", (d) => (output += String(d)))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`child did not exit within ${describeBound(bound)}:\n${output}`))
    }, bound)
    child.on("exit", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, output })
    })
  })
  // A test that failed before awaiting this must not add an unhandled rejection to its failure.
  exited.catch(() => {})
  return exited
}

export interface ChildExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly output: string
}

export interface Child {
  readonly process: ChildProcess
  /** Everything it printed so far, stdout and stderr interleaved. */
  readonly output: () => string
  /** Resolves (never rejects) when it has exited. */
  readonly exited: Promise<ChildExit>
  readonly hasExited: () => boolean
}

/**
 * The processes below `pid` (Linux; elsewhere none): forked children of a supervisor, which leave by themselves
 * once it is gone, except one still starting when it died, which never learns of it.
 */
const descendants = (pid: number): Array<number> => {
  let entries: Array<string>
  try {
    entries = fs.readdirSync("/proc").filter((e) => /^\d+$/.test(e))
  } catch {
    return []
  }
  const children = new Map<number, Array<number>>()
  for (const entry of entries) {
    try {
      // "pid (comm) state ppid ...": comm may hold spaces, so read after its closing parenthesis.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8")
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
    } catch {
      // exited meanwhile
    }
  }
  const found: Array<number> = []
  const visit = (p: number) => {
    for (const c of children.get(p) ?? []) {
      found.push(c)
      visit(c)
    }
  }
  visit(pid)
  return found
}

const killTree = (child: ChildProcess) => {
  const below = child.pid === undefined ? [] : descendants(child.pid)
  child.kill("SIGKILL")
  for (const pid of below) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // gone already
    }
  }
}

/**
 * Follows a child just spawned, for the current scope: if it still runs when the scope closes, it and the
 * processes it started are SIGKILLed.
 */
export const track = (start: () => ChildProcess): Effect.Effect<Child, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync((): Child => {
      const child = watch(start())
      let output = ""
      let done = false
      child.stdout?.on("data", (d) => (output += String(d)))
      child.stderr?.on("data", (d) => (output += String(d)))
      const exited = new Promise<ChildExit>((resolve) =>
        child.once("exit", (code, signal) => {
          done = true
          resolve({ code, signal, output })
        })
      )
      return { process: child, output: () => output, exited, hasExited: () => done }
    }),
    (child) =>
      child.hasExited()
        ? Effect.void
        : Effect.sync(() => killTree(child.process)).pipe(
          Effect.zipRight(Effect.promise(() => child.exited)),
          Effect.timeout(scaled(10_000)),
          Effect.ignore,
          TestServices.provideLive
        )
  )

/** `spawnChild` for the current scope (see `track`). */
export const startChild = (script: string, args: ReadonlyArray<string>, config?: object) =>
  track(() => spawnChild(script, args, config))

/**
 * Waits up to `ms` (scaled, in real time) for the child to exit by itself; past that, SIGKILLs it and fails with
 * its output.
 */
export const awaitExit = (child: Child, ms: number, what = "child"): Effect.Effect<ChildExit> => {
  const bound = scaled(ms)
  return Effect.promise(() => child.exited).pipe(
    Effect.timeoutFail({ duration: bound, onTimeout: () => `${what} did not exit within ${describeBound(bound)}` }),
    Effect.catchAll((message) =>
      Effect.sync(() => killTree(child.process)).pipe(
        Effect.zipRight(Effect.dieMessage(`${message}; its output:\n${child.output()}`))
      )
    ),
    TestServices.provideLive
  )
}

/** Sends `signal`, then waits for the exit as `awaitExit` does. */
export const stopChild = (child: Child, signal: NodeJS.Signals, ms: number, what = "child") =>
  Effect.suspend(() => {
    child.process.kill(signal)
    return awaitExit(child, ms, `${what} (${signal})`)
  })

/** A port nothing listens on now (for a server a test starts). */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
