import { describe } from "vitest"
import { isAvailable } from "./support/databases.js"
import { forkSuite } from "./suites/fork.js"
import { signalHandlersSuite, signalsSuite } from "./suites/signals.js"

// Supervisors in processes of their own, with real signals and bounded waits.
for (const dialect of ["sqlite", "pg", "mysql"] as const) {
  describe.skipIf(!(await isAvailable(dialect)))(dialect, () => {
    forkSuite(dialect)
    // Process handling, not SQL: one dialect.
    if (dialect === "sqlite") signalsSuite()
  })
}
signalHandlersSuite()
