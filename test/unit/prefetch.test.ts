import { assert, describe, it } from "@effect/vitest"
import * as Prefetch from "../../src/internal/worker/Prefetch.js"

describe("the default prefetch", () => {
  it("is nothing before any job ended, then as many jobs as ended in the current or the last tenth of a second", () => {
    const at = Prefetch.auto()
    assert.strictEqual(at(1_000, 0), 0)
    // Within the period, each end counts at once: a worker on a backlog doubles its claims.
    assert.strictEqual(at(1_010, 4), 4)
    assert.strictEqual(at(1_050, 40), 40)
    // The next period starts from the last one's count, and grows past it.
    assert.strictEqual(at(1_100, 60), 60)
    assert.strictEqual(at(1_150, 70), 60)
    assert.strictEqual(at(1_160, 140), 80)
    // A slower period lowers it.
    assert.strictEqual(at(1_200, 145), 85)
    assert.strictEqual(at(1_300, 150), 5)
  })

  it("counts a gap of several periods as their average, and falls to nothing when no job ends", () => {
    const at = Prefetch.auto()
    at(0, 0)
    assert.strictEqual(at(1_000, 200), 20)
    assert.strictEqual(at(2_000, 200), 0)
    // Jobs longer than a period: each claim is for free threads only.
    assert.strictEqual(at(12_000, 10), 0)
  })

  it("is at most 500; a number given is kept", () => {
    const at = Prefetch.auto()
    at(0, 0)
    assert.strictEqual(at(10, 10_000), Prefetch.maxAuto)
    assert.strictEqual(at(150, 20_000), Prefetch.maxAuto)
    assert.strictEqual(Prefetch.make(7)(0, 1_000), 7)
    assert.strictEqual(Prefetch.make(0)(0, 1_000), 0)
  })
})
