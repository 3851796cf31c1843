import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Either } from "effect"
import * as QueueConfig from "../../src/QueueConfig.js"

const ms = Duration.toMillis

const refusal = (input: unknown) => Effect.flip(QueueConfig.make(input as QueueConfig.QueueConfigInput))

const fromEnv = (variables: Record<string, string>, base?: QueueConfig.QueueConfigInput) =>
  QueueConfig.fromEnv(base).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(variables)))))

describe("configuration", () => {
  it.effect("nothing given is the seeds' defaults: one worker on every queue, one dispatcher, a scheduler", () =>
    Effect.gen(function*() {
      const config = yield* QueueConfig.make()
      const d = QueueConfig.defaults
      assert.strictEqual(config.workers.length, 1)
      const [worker] = config.workers
      assert.deepStrictEqual(worker.queues, ["*"])
      assert.deepStrictEqual([worker.threads, worker.processes, ms(worker.pollingInterval)], [3, 1, 100])
      assert.strictEqual(config.dispatchers.length, 1)
      const [dispatcher] = config.dispatchers
      assert.deepStrictEqual(
        [ms(dispatcher.pollingInterval), dispatcher.batchSize, dispatcher.concurrencyMaintenance, ms(dispatcher.concurrencyMaintenanceInterval)],
        [1000, 500, true, 600_000]
      )
      assert.strictEqual(ms(config.scheduler!.pollingInterval), 5000)
      assert.deepStrictEqual(
        [config.mode, config.supervisorPidfile, config.preserveFinishedJobs],
        ["async", "tmp/pids/steady_queue_supervisor.pid", true]
      )
      assert.deepStrictEqual(
        [ms(config.processHeartbeatInterval), ms(config.processAliveThreshold), ms(config.shutdownTimeout), ms(config.clearFinishedJobsAfter)],
        [60_000, 300_000, 5000, 86_400_000]
      )
      // The named constants are those defaults.
      assert.deepStrictEqual(
        [d.workerThreads, d.dispatcherBatchSize, d.supervisorPidfile, d.mode],
        [worker.threads, dispatcher.batchSize, config.supervisorPidfile, config.mode]
      )
      assert.deepStrictEqual(yield* QueueConfig.make({}), config)
    }))

  it.effect("a configuration file's whole shape, as JSON can hold it, decodes field by field", () =>
    Effect.gen(function*() {
      const file = JSON.parse(`{
        "workers": [
          { "queues": ["real_time", "mail*"], "threads": 5, "processes": 2, "pollingInterval": "200 millis" },
          { "queues": ["*"], "threads": 1, "pollingInterval": 1500 }
        ],
        "dispatchers": [{ "pollingInterval": "2 seconds", "batchSize": 100, "concurrencyMaintenance": false, "concurrencyMaintenanceInterval": "1 minute" }],
        "scheduler": null,
        "mode": "fork",
        "processHeartbeatInterval": "30 seconds",
        "processAliveThreshold": "2 minutes",
        "supervisorPidfile": null,
        "shutdownTimeout": 0,
        "preserveFinishedJobs": false,
        "clearFinishedJobsAfter": "7 days"
      }`) as QueueConfig.QueueConfigInput
      const config = yield* QueueConfig.make(file)
      assert.deepStrictEqual(config.workers.map((w) => [w.queues, w.threads, w.processes, ms(w.pollingInterval)]), [
        [["real_time", "mail*"], 5, 2, 200],
        [["*"], 1, 1, 1500]
      ])
      const [dispatcher] = config.dispatchers
      assert.deepStrictEqual(
        [ms(dispatcher.pollingInterval), dispatcher.batchSize, dispatcher.concurrencyMaintenance, ms(dispatcher.concurrencyMaintenanceInterval)],
        [2000, 100, false, 60_000]
      )
      assert.isNull(config.scheduler)
      assert.isNull(config.supervisorPidfile)
      assert.deepStrictEqual([config.mode, config.preserveFinishedJobs], ["fork", false])
      assert.deepStrictEqual(
        [ms(config.processHeartbeatInterval), ms(config.processAliveThreshold), ms(config.shutdownTimeout), ms(config.clearFinishedJobsAfter)],
        [30_000, 120_000, 0, 7 * 86_400_000]
      )
    }))

  it.effect("a worker's prefetch is a non-negative integer or \"auto\", and absent by default", () =>
    Effect.gen(function*() {
      const config = yield* QueueConfig.make({ workers: [{ prefetch: 0 }, { prefetch: 250 }, { prefetch: "auto" }, {}] })
      assert.deepStrictEqual(config.workers.map((w) => w.prefetch), [0, 250, "auto", undefined])
    }))

  it.effect("a duration is a Duration, milliseconds (also fractional) or text", () =>
    Effect.gen(function*() {
      for (const [input, expected] of [[Duration.seconds(3), 3000], [250, 250], [0.5, 0.5], ["1.5 seconds", 1500], ["3 hours", 10_800_000]] as const) {
        assert.strictEqual(ms((yield* QueueConfig.make({ shutdownTimeout: input })).shutdownTimeout), expected, String(input))
      }
    }))

  it.effect("a negative, NaN or infinite duration is refused, not clamped to zero", () =>
    Effect.gen(function*() {
      for (const input of [-1, -0.001, Number.NaN, Number.POSITIVE_INFINITY, "-5 seconds", " -1 millis", Duration.infinity]) {
        const error = yield* refusal({ workers: [{ pollingInterval: input }] })
        assert.strictEqual(error._tag, "InvalidConfigError")
        assert.include(error.message, "a duration must be finite and not negative", String(input))
        assert.include(error.message, "[\"pollingInterval\"]")
      }
      for (const input of ["soon", "Infinity", "5", ""]) {
        assert.include((yield* refusal({ shutdownTimeout: input })).message, `not a duration: ${input}`, input)
      }
      assert.include((yield* refusal({ shutdownTimeout: true })).message, "[\"shutdownTimeout\"]")
    }))

  it.effect("bad values are InvalidConfigErrors whose message points at the field", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<[unknown, ReadonlyArray<string>]> = [
        [{ workers: [{ threads: 0 }] }, ["[\"workers\"]", "[0]", "[\"threads\"]", "Expected a positive number, actual 0"]],
        [{ workers: [{}, { threads: 1.5 }] }, ["[1]", "[\"threads\"]", "Expected an integer, actual 1.5"]],
        [{ workers: [{ processes: -1 }] }, ["[\"processes\"]"]],
        [{ workers: [{ prefetch: -1 }] }, ["[\"prefetch\"]", "Expected a non-negative number, actual -1"]],
        [{ workers: [{ prefetch: 2.5 }] }, ["[\"prefetch\"]", "Expected an integer, actual 2.5"]],
        [{ workers: [{ prefetch: "many" }] }, ["[\"prefetch\"]", "Expected \"auto\", actual \"many\""]],
        [{ workers: [{ queues: [] }] }, ["[\"queues\"]", "Expected an array of at least 1 item(s), actual []"]],
        [{ workers: [{ queues: "default" }] }, ["[\"queues\"]"]],
        [{ workers: { threads: 2 } }, ["[\"workers\"]"]],
        [{ dispatchers: [{ batchSize: 0 }] }, ["[\"dispatchers\"]", "[\"batchSize\"]"]],
        [{ dispatchers: [{ concurrencyMaintenance: "yes" }] }, ["[\"concurrencyMaintenance\"]", "Expected boolean"]],
        [{ mode: "thread" }, ["[\"mode\"]", "Expected \"async\", actual \"thread\"", "Expected \"fork\", actual \"thread\""]],
        [{ supervisorPidfile: 42 }, ["[\"supervisorPidfile\"]"]],
        [{ scheduler: { pollingInterval: "often" } }, ["[\"scheduler\"]", "not a duration: often"]],
        [{ preserveFinishedJobs: "false" }, ["[\"preserveFinishedJobs\"]", "Expected boolean"]]
      ]
      for (const [input, parts] of cases) {
        const error = yield* refusal(input)
        assert.strictEqual(error._tag, "InvalidConfigError")
        assert.isTrue(error.message.startsWith("invalid steady-queue configuration: "), error.message)
        for (const part of parts) assert.include(error.message, part, JSON.stringify(input))
      }
    }))

  it.effect("a configuration with nothing to run is refused, whatever else it sets", () =>
    Effect.gen(function*() {
      const error = yield* refusal({ workers: [], dispatchers: [], scheduler: null, mode: "fork" })
      assert.strictEqual(
        error.message,
        "invalid steady-queue configuration: no workers, no dispatchers and no scheduler (the supervisor would run nothing); configure at least one"
      )
    }))

  it("unsafeMake returns the configuration, or throws the InvalidConfigError", () => {
    assert.strictEqual(QueueConfig.unsafeMake({ workers: [{ threads: 7 }] }).workers[0].threads, 7)
    const thrown = Either.try(() => QueueConfig.unsafeMake({ workers: [{ threads: 0 }] }))
    assert.isTrue(Either.isLeft(thrown))
    if (Either.isLeft(thrown)) assert.include(String(thrown.left), "[\"threads\"]")
  })
})

describe("configuration from the environment", () => {
  it.effect("no variables is the base, or the defaults", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* fromEnv({}), yield* QueueConfig.make())
      assert.strictEqual((yield* fromEnv({}, { workers: [{ threads: 9 }] })).workers[0].threads, 9)
    }))

  it.effect("STEADY_QUEUE_CONFIG replaces the base's fields it names, and leaves the others", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv(
        { STEADY_QUEUE_CONFIG: JSON.stringify({ workers: [{ queues: ["a"] }] }) },
        { workers: [{ threads: 9 }, { threads: 1 }], shutdownTimeout: "1 minute" }
      )
      // Whole fields: the base's list of workers is replaced, not merged.
      assert.deepStrictEqual(config.workers.map((w) => [w.queues, w.threads]), [[["a"], 3]])
      assert.strictEqual(ms(config.shutdownTimeout), 60_000)
    }))

  it.effect("single settings: milliseconds or text for durations, true/1/false/0, and none or empty for no pidfile", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({
        STEADY_QUEUE_CONFIG: JSON.stringify({ shutdownTimeout: "1 second", preserveFinishedJobs: false }),
        STEADY_QUEUE_SHUTDOWN_TIMEOUT: "1500.5",
        STEADY_QUEUE_PROCESS_HEARTBEAT_INTERVAL: "10 seconds",
        STEADY_QUEUE_PROCESS_ALIVE_THRESHOLD: "90000",
        STEADY_QUEUE_CLEAR_FINISHED_JOBS_AFTER: "2 days",
        STEADY_QUEUE_PRESERVE_FINISHED_JOBS: "1",
        STEADY_QUEUE_SUPERVISOR_PIDFILE: "",
        STEADY_QUEUE_MODE: "fork"
      })
      assert.deepStrictEqual(
        [ms(config.shutdownTimeout), ms(config.processHeartbeatInterval), ms(config.processAliveThreshold), ms(config.clearFinishedJobsAfter)],
        [1500.5, 10_000, 90_000, 2 * 86_400_000]
      )
      assert.isTrue(config.preserveFinishedJobs)
      assert.isNull(config.supervisorPidfile)
      assert.strictEqual(config.mode, "fork")
      for (const [raw, expected] of [["true", true], ["1", true], ["false", false], ["0", false]] as const) {
        assert.strictEqual((yield* fromEnv({ STEADY_QUEUE_PRESERVE_FINISHED_JOBS: raw })).preserveFinishedJobs, expected, raw)
      }
      assert.isNull((yield* fromEnv({ STEADY_QUEUE_SUPERVISOR_PIDFILE: "none" })).supervisorPidfile)
      assert.strictEqual((yield* fromEnv({ STEADY_QUEUE_SUPERVISOR_PIDFILE: "/run/sq.pid" })).supervisorPidfile, "/run/sq.pid")
    }))

  it.effect("STEADY_QUEUE_CONFIG that is not JSON, or not a JSON object, says so", () =>
    Effect.gen(function*() {
      const messages = yield* Effect.forEach(["{not json", "", "[1]", "null", "\"text\"", "3"], (json) =>
        Effect.map(Effect.flip(fromEnv({ STEADY_QUEUE_CONFIG: json })), (e) => [e._tag, e.message]))
      assert.deepStrictEqual(messages, [
        ["InvalidConfigError", "STEADY_QUEUE_CONFIG is not valid JSON"],
        ["InvalidConfigError", "STEADY_QUEUE_CONFIG is not valid JSON"],
        ["InvalidConfigError", "STEADY_QUEUE_CONFIG must be a JSON object"],
        ["InvalidConfigError", "STEADY_QUEUE_CONFIG must be a JSON object"],
        ["InvalidConfigError", "STEADY_QUEUE_CONFIG must be a JSON object"],
        ["InvalidConfigError", "STEADY_QUEUE_CONFIG must be a JSON object"]
      ])
    }))

  it.effect("a bad value from the environment names the environment and the field", () =>
    Effect.gen(function*() {
      for (const [name, value, field] of [
        ["STEADY_QUEUE_PRESERVE_FINISHED_JOBS", "yes", "preserveFinishedJobs"],
        ["STEADY_QUEUE_SHUTDOWN_TIMEOUT", "-5", "shutdownTimeout"],
        ["STEADY_QUEUE_MODE", "threads", "mode"]
      ] as const) {
        const error = yield* Effect.flip(fromEnv({ [name]: value }))
        assert.isTrue(error.message.startsWith("invalid steady-queue configuration from the environment: "), error.message)
        assert.include(error.message, `["${field}"]`)
      }
      const nested = yield* Effect.flip(fromEnv({ STEADY_QUEUE_CONFIG: JSON.stringify({ workers: [{ threads: -2 }] }) }))
      assert.include(nested.message, "[\"threads\"]")
    }))
})
