import { describe } from "vitest"
import { isAvailable } from "./support/databases.js"
import { dashboardSuite } from "./suites/dashboard.js"

// The dashboard over HTTP (in-process handler), on every dialect.
for (const dialect of ["sqlite", "pg", "mysql"] as const) {
  describe.skipIf(!(await isAvailable(dialect)))(dialect, () => {
    dashboardSuite(dialect)
  })
}
