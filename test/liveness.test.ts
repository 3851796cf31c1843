import { describe } from "vitest"
import { isAvailable } from "./support/databases.js"
import { livenessSuite } from "./suites/liveness.js"

for (const dialect of ["sqlite", "pg", "mysql"] as const) {
  describe.skipIf(!(await isAvailable(dialect)))(dialect, () => livenessSuite(dialect))
}
