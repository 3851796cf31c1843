/**
 * Child processes for the multi-process tests, always with a bounded wait.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as net from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

/** Starts a test program; `config` reaches a supervisor as STEADY_QUEUE_CONFIG. */
export const spawnChild = (script: string, args: ReadonlyArray<string>, config?: object): ChildProcess =>
  spawn(process.execPath, ["--import", "tsx", path.join(root, script), ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      NODE_NO_WARNINGS: "1",
      ...(config === undefined ? {} : { STEADY_QUEUE_CONFIG: JSON.stringify(config) })
    }
  })

/** Resolves with the exit code and signal, or kills the child and rejects after `ms`. */
export const waitForExit = (child: ChildProcess, ms: number) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve, reject) => {
    let output = ""
    child.stdout?.on("data", (d) => (output += String(d)))
    child.stderr?.on("data", (d) => (output += String(d)))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`child did not exit within ${ms} ms:\n${output}`))
    }, ms)
    child.on("exit", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, output })
    })
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
