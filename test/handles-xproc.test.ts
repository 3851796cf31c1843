import { describe } from "vitest"
import { isAvailable } from "./support/databases.js"
import { handlesXprocSuite } from "./suites/handlesXproc.js"
import { listenSuite } from "./suites/listen.js"

// Handles of jobs run by another process or pool, in real time: one file for all dialects, beside the others.
for (const dialect of ["sqlite", "pg", "mysql"] as const) {
  describe.skipIf(!(await isAvailable(dialect)))(dialect, () => {
    handlesXprocSuite(dialect)
    if (dialect === "pg") listenSuite()
  })
}
