import { describe } from "vitest"
import { isAvailable } from "./support/databases.js"
import { concurrencySuite } from "./suites/concurrency.js"

for (const dialect of ["sqlite", "pg", "mysql"] as const) {
  describe.skipIf(!(await isAvailable(dialect)))(dialect, () => concurrencySuite(dialect))
}
