import { assert, describe, it } from "@effect/vitest"
import { idleWaitMs } from "../../src/internal/worker/Poller.js"

describe("idle polling", () => {
  it("waits the polling interval after a poll that found jobs, then doubles up to ten intervals", () => {
    assert.deepStrictEqual([0, 1, 2, 3, 4, 5, 50].map((n) => idleWaitMs(100, n)), [100, 200, 400, 800, 1000, 1000, 1000])
    assert.strictEqual(idleWaitMs(1000, 3), 8000)
  })
})
