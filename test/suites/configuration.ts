/**
 * Process configuration: what the supervisor is asked to run, and what each process records about itself.
 */
import { assert, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { ConfigProvider, Effect } from "effect"
import { Dispatcher, QueueConfig } from "../../src/index.js"
import { type DialectName, reset, suiteLayer } from "../support/databases.js"

const nothingToRun = { workers: [], dispatchers: [], scheduler: null }

const metadataOf = (id: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ metadata: string }>`SELECT metadata FROM steady_queue_processes WHERE id = ${id}`
    return JSON.parse(rows[0].metadata) as Record<string, unknown>
  }).pipe(Effect.orDie)

export const configurationSuite = (dialect: DialectName) =>
  layer(suiteLayer(dialect), { timeout: "60 seconds" })("configuration", (it) => {
    it.effect("no workers, no dispatchers and no scheduler is an InvalidConfigError that says so, from code and from the environment", () =>
      Effect.gen(function*() {
        const fromCode = yield* Effect.flip(QueueConfig.make(nothingToRun))
        assert.strictEqual(fromCode._tag, "InvalidConfigError")
        assert.include(fromCode.message, "no workers, no dispatchers and no scheduler")
        const env = ConfigProvider.fromMap(new Map([["STEADY_QUEUE_CONFIG", JSON.stringify(nothingToRun)]]))
        const fromEnv = yield* Effect.flip(QueueConfig.fromEnv().pipe(Effect.withConfigProvider(env)))
        assert.strictEqual(fromEnv._tag, "InvalidConfigError")
        assert.include(fromEnv.message, "from the environment: no workers, no dispatchers and no scheduler")
        // Anything left to run is a valid configuration.
        const schedulerOnly = yield* QueueConfig.make({ workers: [], dispatchers: [] })
        assert.isNotNull(schedulerOnly.scheduler)
        const dispatcherOnly = yield* QueueConfig.make({ workers: [], scheduler: null })
        assert.strictEqual(dispatcherOnly.dispatchers.length, 1)
        const workerOnly = yield* QueueConfig.make({ dispatchers: [], scheduler: null })
        assert.strictEqual(workerOnly.workers.length, 1)
      }))

    it.scoped("a dispatcher's process metadata holds its concurrency maintenance settings", () =>
      Effect.gen(function*() {
        yield* reset
        const configured = yield* Dispatcher.start({
          batchSize: 7,
          pollingInterval: "3 seconds",
          concurrencyMaintenance: false,
          concurrencyMaintenanceInterval: "2 minutes"
        })
        assert.deepStrictEqual(yield* metadataOf(configured), {
          batchSize: 7,
          pollingInterval: 3000,
          concurrencyMaintenance: false,
          concurrencyMaintenanceInterval: 120_000
        })
        const defaults = yield* Dispatcher.start()
        assert.deepStrictEqual(yield* metadataOf(defaults), {
          batchSize: 500,
          pollingInterval: 1000,
          concurrencyMaintenance: true,
          concurrencyMaintenanceInterval: 600_000
        })
      }))
  })
