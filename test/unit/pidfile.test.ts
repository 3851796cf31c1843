import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import * as Pidfile from "../../src/internal/Pidfile.js"

const dirs: Array<string> = []
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "steady-queue-pidfile-"))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})
const acquired = (file: string) => Effect.scoped(Pidfile.acquire(file)).pipe(Effect.provide(NodeFileSystem.layer))
const contents = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined)
/** No process has this pid: Linux caps pids far below it. */
const deadPid = 2147483646

describe("the supervisor's pidfile", () => {
  it.effect("holds this process's pid while the scope is open, in directories it creates, and is removed after", () =>
    Effect.gen(function*() {
      const file = path.join(tempDir(), "tmp", "pids", "supervisor.pid")
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Pidfile.acquire(file)
        assert.strictEqual(contents(file), `${process.pid}\n`)
      })).pipe(Effect.provide(NodeFileSystem.layer))
      assert.isFalse(fs.existsSync(file))
      assert.isTrue(fs.existsSync(path.dirname(file)), "the directories stay")
    }))

  it.effect("a live pid refuses with SupervisorAlreadyRunningError and leaves the file alone", () =>
    Effect.gen(function*() {
      const file = path.join(tempDir(), "supervisor.pid")
      // The test runner that started this worker: alive, and not us.
      fs.writeFileSync(file, `${process.ppid}\n`)
      const error = yield* Effect.flip(acquired(file))
      assert.deepInclude(error, { _tag: "SupervisorAlreadyRunningError", pid: process.ppid, pidfile: file })
      assert.strictEqual(
        error.message,
        `a steady-queue supervisor (pid ${process.ppid}) is already running on this host (pidfile ${file})`
      )
      assert.strictEqual(contents(file), `${process.ppid}\n`)
    }))

  it.effect("a process that exists but is not ours to signal (EPERM, or init as root) still counts as alive", () =>
    Effect.gen(function*() {
      const file = path.join(tempDir(), "supervisor.pid")
      fs.writeFileSync(file, "1")
      assert.strictEqual((yield* Effect.flip(acquired(file))).pid, 1)
    }))

  it.effect("a second acquisition in the same process is refused too: one supervisor per pidfile", () =>
    Effect.gen(function*() {
      const file = path.join(tempDir(), "supervisor.pid")
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Pidfile.acquire(file)
        const second = yield* Effect.flip(Effect.scoped(Pidfile.acquire(file)))
        assert.strictEqual(second.pid, process.pid)
        // The refused one did not remove the first one's file.
        assert.strictEqual(contents(file), `${process.pid}\n`)
      })).pipe(Effect.provide(NodeFileSystem.layer))
      assert.isFalse(fs.existsSync(file))
    }))

  it.effect("a stale or unreadable file is taken over", () =>
    Effect.gen(function*() {
      for (const stale of [`${deadPid}\n`, "", "not a pid", "-5", "0", "  \n"]) {
        const file = path.join(tempDir(), "supervisor.pid")
        fs.writeFileSync(file, stale)
        yield* Effect.scoped(Effect.gen(function*() {
          yield* Pidfile.acquire(file)
          assert.strictEqual(contents(file), `${process.pid}\n`, JSON.stringify(stale))
        })).pipe(Effect.provide(NodeFileSystem.layer))
        assert.isFalse(fs.existsSync(file))
      }
    }))

  it.effect("on close, a file that now holds another pid is left to its owner; one already gone is no error", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const takenOver = path.join(dir, "taken.pid")
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Pidfile.acquire(takenOver)
        fs.writeFileSync(takenOver, `${deadPid}\n`)
      })).pipe(Effect.provide(NodeFileSystem.layer))
      assert.strictEqual(contents(takenOver), `${deadPid}\n`)

      const removed = path.join(dir, "removed.pid")
      const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
        yield* Pidfile.acquire(removed)
        fs.rmSync(removed)
      })).pipe(Effect.provide(NodeFileSystem.layer)))
      assert.isTrue(Exit.isSuccess(exit))
    }))

  it.effect("a pidfile that cannot be written is a defect, not a supervisor without one", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      fs.writeFileSync(path.join(dir, "a-file"), "")
      const exit = yield* Effect.exit(acquired(path.join(dir, "a-file", "supervisor.pid")))
      assert.isTrue(Exit.isFailure(exit) && Option.isSome(Cause.dieOption(exit.cause)), String(exit))
    }))
})
