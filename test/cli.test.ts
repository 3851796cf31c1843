import { describe } from "vitest"
import { isAvailable } from "./support/databases.js"
import { cliSuite } from "./suites/cli.js"

// The command line as a user runs it: a real process per command.
for (const dialect of ["sqlite", "pg", "mysql"] as const) {
  describe.skipIf(!(await isAvailable(dialect)))(dialect, () => {
    cliSuite(dialect)
  })
}
