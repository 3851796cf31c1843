/**
 * Jobs finished and failed per minute over the last hour, for the dashboard's chart. Counts of minutes that are
 * over (with a minute's grace for finishes still being written) are kept, so a load counts the last minute or two
 * again, not an hour's worth of jobs. A failure retried after its minute was settled still counts.
 */
import { Clock, Effect, Ref } from "effect"
import type { MinuteCount } from "../Admin.js"

/** How many jobs in one minute (the minute as milliseconds since the epoch divided by 60,000). */
export interface MinuteRow {
  readonly minute: number
  readonly n: number
}

/** Jobs finished and jobs failed per minute, from `since` (milliseconds) on. */
export type CountSince<E, R> = (
  since: number
) => Effect.Effect<readonly [finished: ReadonlyArray<MinuteRow>, failed: ReadonlyArray<MinuteRow>], E, R>

export interface ThroughputCache<E, R> {
  /** The last 60 minutes, oldest first, the current one last. */
  readonly lastHour: Effect.Effect<ReadonlyArray<MinuteCount>, E, R>
}

interface Counts {
  readonly finished: number
  readonly failed: number
}

const minute = 60_000
const minutesShown = 60

/** The settled minutes still in the chart, and those settled by this count. */
const settle = (
  known: ReadonlyMap<number, Counts>,
  first: number,
  counted: ReadonlyMap<number, Counts>
): ReadonlyMap<number, Counts> => new Map([...known, ...counted].filter(([m]) => m >= first))

export const make = <E, R>(count: CountSince<E, R>): Effect.Effect<ThroughputCache<E, R>> =>
  Effect.map(Ref.make<ReadonlyMap<number, Counts>>(new Map()), (settled) => ({
    lastHour: Effect.gen(function*() {
      const current = Math.floor((yield* Clock.currentTimeMillis) / minute)
      const first = current - (minutesShown - 1)
      const known = yield* Ref.get(settled)
      // Only the minutes not yet settled are counted.
      let since = first
      while (known.has(since)) since++
      const [finished, failed] = yield* count(since * minute)
      const finishedAt = new Map(finished.map((r) => [r.minute, r.n]))
      const failedAt = new Map(failed.map((r) => [r.minute, r.n]))
      const countsOf = (m: number): Counts => ({ finished: finishedAt.get(m) ?? 0, failed: failedAt.get(m) ?? 0 })
      const newlySettled = new Map<number, Counts>()
      for (let m = since; m < current - 1; m++) newlySettled.set(m, countsOf(m))
      yield* Ref.update(settled, (latest) => settle(latest, first, newlySettled))
      return Array.from({ length: minutesShown }, (_, i): MinuteCount => {
        const m = first + i
        return { minute: new Date(m * minute), ...(known.get(m) ?? countsOf(m)) }
      })
    })
  }))
