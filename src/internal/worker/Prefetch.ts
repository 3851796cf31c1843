/**
 * How many jobs a worker claims ahead of its free threads. A number given is kept. By default (`"auto"`) it
 * follows the worker's pace: as many jobs as the worker finished in the last tenth of a second, at most 500. The
 * buffer then holds about a tenth of a second of work: short jobs are claimed hundreds at a time, while a worker
 * whose jobs take longer than that claims only for its free threads (Solid Queue's behaviour), so it never
 * hoards jobs that idle workers elsewhere could run.
 */

/** The pace is measured over periods this long, and the buffer holds about this much work. */
export const periodMs = 100

/** The most jobs claimed ahead by default: claims stay one statement of a few milliseconds. */
export const maxAuto = 500

export type Setting = number | "auto"

/** The prefetch now, from the jobs the worker has ended so far. Called by the poll loop only. */
export type Prefetch = (now: number, endedSoFar: number) => number

export const fixed = (n: number): Prefetch => () => n

/**
 * Jobs ended in the last full period, or in the current one if that is more already (so a worker that speeds up,
 * or starts on a backlog, grows its claims at once: each claim can be about twice the last). A gap of several
 * periods counts as their average.
 */
export const auto = (): Prefetch => {
  let periodStart = -Infinity
  let endedAtStart = 0
  let last = 0
  return (now, endedSoFar) => {
    const elapsed = now - periodStart
    if (elapsed >= periodMs) {
      last = Number.isFinite(elapsed) ? Math.round((endedSoFar - endedAtStart) * periodMs / elapsed) : 0
      periodStart = now
      endedAtStart = endedSoFar
    }
    return Math.min(maxAuto, Math.max(last, endedSoFar - endedAtStart))
  }
}

export const make = (setting: Setting): Prefetch => setting === "auto" ? auto() : fixed(setting)
