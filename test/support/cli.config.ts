/** The configuration module the CLI test starts: Probe jobs append their label to $PROBE_OUT. */
import { Effect } from "effect"
import * as fs from "node:fs"
import { Cli } from "../../src/index.js"
import { Probe } from "./harness.js"

export default Cli.defineStart({
  handlers: Probe.toLayer(({ label }) => Effect.sync(() => fs.appendFileSync(process.env.PROBE_OUT!, `${label}\n`))),
  config: { supervisorPidfile: null, shutdownTimeout: "1 second", workers: [{ threads: 2, pollingInterval: "50 millis" }] }
})
