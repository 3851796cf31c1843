import { describe } from "vitest"
import { isAvailable } from "./support/databases.js"
import { raceSuite } from "./suites/race.js"

// Real processes and real time: one file for all dialects, so these heavier tests run beside the others.
for (const dialect of ["sqlite", "pg", "mysql"] as const) {
  describe.skipIf(!(await isAvailable(dialect)))(dialect, () => raceSuite(dialect))
}
