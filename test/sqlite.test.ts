import { describe } from "vitest"
import { isAvailable } from "./support/databases.js"
import { enqueueSuite } from "./suites/enqueue.js"
import { workerSuite } from "./suites/worker.js"

describe.skipIf(!(await isAvailable("sqlite")))("sqlite", () => {
  enqueueSuite("sqlite")
  workerSuite("sqlite")
})
