import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import * as ThroughputCache from "../../src/internal/ThroughputCache.js"
import type { MinuteRow } from "../../src/internal/ThroughputCache.js"

const minute = 60_000
const at = (hh: number, mm: number, ss = 0) => Date.UTC(2026, 10, 23, hh, mm, ss)
const minuteOf = (t: number) => Math.floor(t / minute)

/**
 * A fake database: jobs finished and failed at given times, and every `since` the cache asked for. The counts
 * can change under the cache, as late finishes and retried failures would.
 */
const fakeCounts = () => {
  const finished: Array<number> = []
  const failed: Array<number> = []
  const asked: Array<number> = []
  const perMinute = (times: ReadonlyArray<number>, since: number): ReadonlyArray<MinuteRow> => {
    const counts = new Map<number, number>()
    for (const t of times) if (t >= since) counts.set(minuteOf(t), (counts.get(minuteOf(t)) ?? 0) + 1)
    return [...counts].map(([m, n]) => ({ minute: m, n }))
  }
  const count: ThroughputCache.CountSince<never, never> = (since) =>
    Effect.sync(() => {
      asked.push(since)
      return [perMinute(finished, since), perMinute(failed, since)] as const
    })
  return { finished, failed, asked, count }
}

const shown = (minutes: ReadonlyArray<{ readonly minute: Date; readonly finished: number; readonly failed: number }>) =>
  minutes.filter((m) => m.finished + m.failed > 0).map((m) => [m.minute.toISOString().slice(11, 16), m.finished, m.failed])

describe("throughput cache", () => {
  it.effect("shows the last 60 minutes, oldest first, counting the whole hour the first time", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(12, 30, 30))
      const db = fakeCounts()
      db.finished.push(at(12, 20), at(12, 20, 5), at(11, 0)) // the last is before the hour
      db.failed.push(at(11, 31, 59))
      const cache = yield* ThroughputCache.make(db.count)
      const hour = yield* cache.lastHour
      assert.strictEqual(hour.length, 60)
      assert.strictEqual(hour[0].minute.toISOString(), "2026-11-23T11:31:00.000Z")
      assert.strictEqual(hour[59].minute.toISOString(), "2026-11-23T12:30:00.000Z")
      assert.deepStrictEqual(shown(hour), [["11:31", 0, 1], ["12:20", 2, 0]])
      assert.deepStrictEqual(db.asked, [at(11, 31)])
    }))

  it.effect("counts again only the minutes not settled: the current one and the one before", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(12, 30, 30))
      const db = fakeCounts()
      const cache = yield* ThroughputCache.make(db.count)
      yield* cache.lastHour
      // Late writes: into the previous minute (still in its grace), the current one, and a settled one.
      db.finished.push(at(12, 29, 58), at(12, 30, 10), at(12, 10))
      const again = yield* cache.lastHour
      assert.deepStrictEqual(db.asked, [at(11, 31), at(12, 29)])
      assert.deepStrictEqual(shown(again), [["12:29", 1, 0], ["12:30", 1, 0]]) // 12:10 was settled at 0
    }))

  it.effect("as time goes on, settles the minutes that are over and drops those that left the chart", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(12, 30, 30))
      const db = fakeCounts()
      db.failed.push(at(11, 31))
      const cache = yield* ThroughputCache.make(db.count)
      yield* cache.lastHour
      db.finished.push(at(12, 29, 59), at(12, 31))
      yield* TestClock.adjust("2 minutes") // 12:32:30
      const later = yield* cache.lastHour
      assert.deepStrictEqual(db.asked, [at(11, 31), at(12, 29)])
      assert.strictEqual(later[0].minute.toISOString(), "2026-11-23T11:33:00.000Z")
      assert.deepStrictEqual(shown(later), [["12:29", 1, 0], ["12:31", 1, 0]]) // 11:31 has left
      yield* cache.lastHour
      assert.deepStrictEqual(db.asked.slice(2), [at(12, 31)]) // 12:29 and 12:30 now settled

      yield* TestClock.adjust("1 hour")
      const hourLater = yield* cache.lastHour
      assert.deepStrictEqual(shown(hourLater), [])
      assert.strictEqual(db.asked[db.asked.length - 1], at(12, 33)) // nothing settled is still in the chart
    }))

  it.effect("fails as the count fails, and settles nothing then", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(12, 30, 30))
      let broken = true
      const db = fakeCounts()
      const cache = yield* ThroughputCache.make((since) => broken ? Effect.fail("unreachable" as const) : db.count(since))
      assert.strictEqual(yield* Effect.flip(cache.lastHour), "unreachable")
      broken = false
      yield* cache.lastHour
      assert.deepStrictEqual(db.asked, [at(11, 31)])
    }))
})
