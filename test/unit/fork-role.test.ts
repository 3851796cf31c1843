import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { vi } from "vitest"
import { currentRole, roleVariable, supervisorVariable, watchParent } from "../../src/internal/Fork.js"

/** Runs `body` with the two role variables set as given (undefined: unset), restoring them after. */
const withRoleEnv = <A>(role: string | undefined, supervisor: string | undefined, body: () => A): A => {
  const saved = [process.env[roleVariable], process.env[supervisorVariable]] as const
  const set = (name: string, value: string | undefined) => {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
  set(roleVariable, role)
  set(supervisorVariable, supervisor)
  try {
    return body()
  } finally {
    set(roleVariable, saved[0])
    set(supervisorVariable, saved[1])
  }
}

describe("a forked child's role", () => {
  it("is read from the environment the supervisor started it with", () => {
    assert.deepStrictEqual(withRoleEnv("worker:0", "12", currentRole), Option.some({ kind: "worker", index: 0, supervisorId: 12 }))
    assert.deepStrictEqual(withRoleEnv("dispatcher:3", "1", currentRole), Option.some({ kind: "dispatcher", index: 3, supervisorId: 1 }))
    assert.deepStrictEqual(withRoleEnv("scheduler:0", "7", currentRole), Option.some({ kind: "scheduler", index: 0, supervisorId: 7 }))
  })

  it("is none in the supervisor itself, or when the variables are not what a supervisor writes", () => {
    for (const [role, supervisor] of [
      [undefined, undefined],
      ["worker:0", undefined],
      [undefined, "12"],
      ["worker:0", "twelve"],
      ["worker:0", "1.5"],
      ["thread:0", "12"],
      ["worker:", "12"],
      ["worker:-1", "12"],
      [" worker:0", "12"],
      ["worker:0:1", "12"]
    ] as const) {
      assert.isTrue(Option.isNone(withRoleEnv(role, supervisor, currentRole)), `${role} ${supervisor}`)
    }
  })

  // Vitest's workers are forked children with an IPC channel to vitest, as a supervisor's are to it.
  it.effect.skipIf(process.send === undefined)("in a forked child, the parent is watched while the scope is open", () =>
    Effect.gen(function*() {
      const kill = vi.spyOn(process, "kill").mockImplementation(() => true)
      const before = process.listenerCount("disconnect")
      yield* Effect.scoped(Effect.gen(function*() {
        yield* watchParent
        assert.strictEqual(process.listenerCount("disconnect"), before + 1)
        // Connected: nothing to stop for yet.
        assert.strictEqual(kill.mock.calls.length, 0)
      })).pipe(Effect.ensuring(Effect.sync(() => kill.mockRestore())))
      assert.strictEqual(process.listenerCount("disconnect"), before)
    }))
})
