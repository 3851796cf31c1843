import { describe } from "vitest"
import { isAvailable } from "./support/databases.js"
import { configurationSuite } from "./suites/configuration.js"
import { enqueueSuite } from "./suites/enqueue.js"
import { failuresSuite } from "./suites/failures.js"
import { handlesSuite } from "./suites/handles.js"
import { lifecycleSuite } from "./suites/lifecycle.js"
import { persistenceSuite } from "./suites/persistence.js"
import { prefetchSuite } from "./suites/prefetch.js"
import { processesSuite } from "./suites/processes.js"
import { queueDatabaseSuite } from "./suites/queueDatabase.js"
import { recurringSuite } from "./suites/recurring.js"
import { schemaSuite } from "./suites/schema.js"
import { workerSuite } from "./suites/worker.js"

describe.skipIf(!(await isAvailable("pg")))("pg", () => {
  enqueueSuite("pg")
  workerSuite("pg")
  prefetchSuite("pg")
  failuresSuite("pg")
  lifecycleSuite("pg")
  processesSuite("pg")
  recurringSuite("pg")
  queueDatabaseSuite("pg")
  configurationSuite("pg")
  schemaSuite("pg")
  persistenceSuite("pg")
  handlesSuite("pg")
})
