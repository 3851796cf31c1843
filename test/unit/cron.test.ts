import { assert, describe, it } from "@effect/vitest"
import { Cron as EffectCron, Either } from "effect"
import * as Cron from "../../src/internal/Cron.js"

const parsed = (schedule: string, timeZone?: string | null) => {
  const result = Cron.parse(schedule, timeZone)
  if (Either.isLeft(result)) throw new Error(`${schedule} should parse: ${result.left}`)
  return result.right
}

const problem = (schedule: string, timeZone?: string | null) => {
  const result = Cron.parse(schedule, timeZone)
  if (Either.isRight(result)) throw new Error(`${schedule} should not parse`)
  return result.left
}

/** The next `n` runs after `from`, as ISO instants. */
const runs = (schedule: string, timeZone: string, from: string, n = 3) => {
  const cron = parsed(schedule, timeZone)
  const out: Array<string> = []
  let at = new Date(from)
  for (let i = 0; i < n; i++) {
    at = EffectCron.next(cron, at)
    out.push(at.toISOString())
  }
  return out
}

describe("cron schedules", () => {
  it("the @-aliases, in any case and with surrounding whitespace, expand to their five fields", () => {
    assert.deepStrictEqual(
      ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"].map(Cron.expand),
      ["0 0 1 1 *", "0 0 1 1 *", "0 0 1 * *", "0 0 * * 0", "0 0 * * *", "0 0 * * *", "0 * * * *"]
    )
    assert.strictEqual(Cron.expand("  @DAILY "), "0 0 * * *")
    assert.strictEqual(Cron.expand("  */5 * * * * "), "*/5 * * * *")
    assert.deepStrictEqual(runs("@Hourly", "UTC", "2030-01-01T10:30:00Z", 2), ["2030-01-01T11:00:00.000Z", "2030-01-01T12:00:00.000Z"])
  })

  it("five fields start with the minute, six with the second", () => {
    assert.deepStrictEqual(runs("*/15 * * * *", "UTC", "2030-01-01T00:07:00Z"), [
      "2030-01-01T00:15:00.000Z",
      "2030-01-01T00:30:00.000Z",
      "2030-01-01T00:45:00.000Z"
    ])
    assert.deepStrictEqual(runs("*/20 * * * * *", "UTC", "2030-01-01T00:00:05Z"), [
      "2030-01-01T00:00:20.000Z",
      "2030-01-01T00:00:40.000Z",
      "2030-01-01T00:01:00.000Z"
    ])
  })

  it("month and weekday names, ranges, lists and steps; weekday 7 is Sunday", () => {
    // 2030-01-04 is a Friday.
    assert.deepStrictEqual(runs("0 9 * * MON-FRI", "UTC", "2030-01-04T10:00:00Z", 2), ["2030-01-07T09:00:00.000Z", "2030-01-08T09:00:00.000Z"])
    assert.deepStrictEqual(runs("0 12 1 JAN,jul *", "UTC", "2030-02-01T00:00:00Z", 2), ["2030-07-01T12:00:00.000Z", "2031-01-01T12:00:00.000Z"])
    assert.deepStrictEqual(runs("0 0 * * 7", "UTC", "2030-01-01T00:00:00Z", 1), runs("0 0 * * SUN", "UTC", "2030-01-01T00:00:00Z", 1))
    assert.deepStrictEqual(runs("5,10-12 * * * *", "UTC", "2030-01-01T00:00:00Z", 4), [
      "2030-01-01T00:05:00.000Z",
      "2030-01-01T00:10:00.000Z",
      "2030-01-01T00:11:00.000Z",
      "2030-01-01T00:12:00.000Z"
    ])
    // Only on the days that have it: the next 29 February.
    assert.deepStrictEqual(runs("0 0 29 2 *", "UTC", "2030-01-01T00:00:00Z", 1), ["2032-02-29T00:00:00.000Z"])
  })

  it("in a time zone, the wall-clock time holds across a DST change", () => {
    // New York moves to daylight time on 2030-03-10: 9:00 is 14:00 UTC before, 13:00 after.
    assert.deepStrictEqual(runs("0 9 * * *", "America/New_York", "2030-03-09T00:00:00Z"), [
      "2030-03-09T14:00:00.000Z",
      "2030-03-10T13:00:00.000Z",
      "2030-03-11T13:00:00.000Z"
    ])
    // A zone with a half-hour offset.
    assert.deepStrictEqual(runs("0 0 * * *", "Asia/Kolkata", "2030-01-01T00:00:00Z", 1), ["2030-01-01T18:30:00.000Z"])
  })

  it("a wall-clock time the DST change repeats runs once; one it skips still runs that day", () => {
    // Berlin, 2030-10-27: 02:30 happens twice (CEST, then CET); 2030-03-31: the clock jumps from 02:00 to 03:00.
    const autumn = runs("30 2 * * *", "Europe/Berlin", "2030-10-26T12:00:00Z", 2)
    assert.deepStrictEqual(autumn, ["2030-10-27T00:30:00.000Z", "2030-10-28T01:30:00.000Z"])
    const [skipped, after] = runs("30 2 * * *", "Europe/Berlin", "2030-03-30T12:00:00Z", 2)
    assert.isTrue(skipped >= "2030-03-30T23:00:00.000Z" && skipped < "2030-03-31T22:00:00.000Z", skipped)
    assert.strictEqual(after, "2030-04-01T00:30:00.000Z")
  })

  it("a schedule with the wrong number of fields says how many it has and what is expected", () => {
    const expected = "a schedule has 5 (minute first) or 6 (second first), or is an alias such as @daily"
    assert.strictEqual(problem("* * *"), `"* * *" has 3 fields; ${expected}`)
    assert.strictEqual(problem("* * * * * * *"), `"* * * * * * *" has 7 fields; ${expected}`)
    assert.strictEqual(problem(""), `"" has 1 fields; ${expected}`)
    assert.strictEqual(problem("@sometimes"), `"@sometimes" has 1 fields; ${expected}`)
  })

  it("a field out of range or not a number is refused, quoting the schedule", () => {
    for (const [schedule, rule] of [
      ["61 * * * *", /between 0 and 59/],
      ["* 24 * * *", /between 0 and 23/],
      ["* * 0 * *", /between 1 and 31/],
      ["* * * 13 *", /between 1 and 12/],
      ["* * * * 8", /between 0 and 7/],
      ["60 * * * * *", /between 0 and 59/],
      ["* * * FOO *", /./]
    ] as const) {
      const message = problem(schedule, "UTC")
      assert.isTrue(message.startsWith(`"${schedule}": `), message)
      assert.match(message, rule)
    }
  })

  it("an unknown or empty time zone is refused, not taken as UTC or local time", () => {
    for (const zone of ["Mars/Olympus_Mons", "", "UTC+25"]) {
      const message = problem("0 9 * * *", zone)
      assert.include(message, "\"0 9 * * *\"", zone)
      assert.match(message, /time zone/i, zone)
    }
    assert.isTrue(Either.isRight(Cron.parse("0 9 * * *", null)))
    assert.isTrue(Either.isRight(Cron.parse("0 9 * * *", "Etc/GMT-14")))
  })
})
