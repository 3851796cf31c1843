/**
 * A program for the cross-process handle tests. Usage:
 *   node --import tsx test/support/handle-worker.ts <database-url> <out-file>
 * Runs a supervisor configured by STEADY_QUEUE_CONFIG, with the handlers of handle-tasks.ts writing to out-file,
 * until signalled. It must not depend on its own location (it may run bundled, see child-bundles.ts).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { QueueConfig, SteadyQueue, Supervisor } from "../../src/index.js"
import { handlersLayer } from "./handle-tasks.js"

const [url, outFile] = process.argv.slice(2)

const supervisor = Layer.unwrapEffect(
  Effect.map(QueueConfig.fromEnv({ supervisorPidfile: null }), (config) => Layer.scopedDiscard(Supervisor.start(config)))
)
NodeRuntime.runMain(Layer.launch(supervisor.pipe(
  Layer.provide(handlersLayer(outFile)),
  Layer.provide(SteadyQueue.fromUrl(url, { provideSqlClient: true }))
)))
