/**
 * One factor for every real-time bound in the tests (waits on other processes, child exits, vitest's timeouts).
 * The bounds are sized for a busy 2-core machine; the factor stretches them further:
 * STEADY_QUEUE_TEST_TIME_SCALE if set, else 2 in CI, times the machine's load per core when it is above 1, at most 3
 * (a hung test still ends in minutes).
 * vitest.config.ts computes it once and exports it, so every test worker uses the same value.
 */
import * as os from "node:os"

export const timeScaleVariable = "STEADY_QUEUE_TEST_TIME_SCALE"

const computed = () => {
  const load = os.loadavg()[0] / os.availableParallelism()
  const factor = Math.min(3, (process.env.CI === "true" ? 2 : 1) * Math.max(1, load))
  return Math.round(factor * 10) / 10
}

const fromEnv = Number(process.env[timeScaleVariable])

export const timeScale: number = Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : computed()

/** `ms` stretched by the time scale. */
export const scaled = (ms: number) => Math.round(ms * timeScale)

/** For failure messages: "45 s" (with the factor when it is not 1). */
export const describeBound = (ms: number) =>
  `${Math.round(ms / 100) / 10} s${timeScale === 1 ? "" : ` (time scale ${timeScale}, ${timeScaleVariable})`}`
