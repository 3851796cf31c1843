/**
 * Programs for the multi-process tests. Usage:
 *   node --import tsx test/support/child-worker.ts <database-url> <mode> <out-file>
 * mode "race":       one worker; appends each Probe label it runs to out-file; exits once no job is unfinished.
 * mode "supervisor": a supervisor configured by STEADY_QUEUE_CONFIG (async or fork mode), running until signalled.
 *                    Probe "stuck" never ends, "gate..." waits until the file "<out-file>.gate" exists, "short..."
 *                    takes 5 ms, any other 300 ms; each run appends "started <label> <pid>" and
 *                    "done <label> <pid>" to out-file.
 * The tests run this file bundled into one JavaScript file when they can (child-bundles.ts): it must not depend
 * on its own location.
 */
import { NodeRuntime } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Schedule, Schema } from "effect"
import * as fs from "node:fs"
import { QueueConfig, SteadyQueue, Supervisor, Task, Worker } from "../../src/index.js"

const [url, mode, outFile] = process.argv.slice(2)
const Probe = Task.make("Probe", { payload: Schema.Struct({ label: Schema.String }) })
const record = (line: string) => Effect.sync(() => fs.appendFileSync(outFile, `${line}\n`))

const database = SteadyQueue.fromUrl(url, { provideSqlClient: true })

if (mode === "race") {
  const unfinished = Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM steady_queue_jobs WHERE finished_at IS NULL`).pipe(
    Effect.map((rows) => Number(rows[0].n))
  )
  const program = Effect.gen(function*() {
    yield* Worker.start({ threads: 8, pollingInterval: "20 millis", shutdownTimeout: "5 seconds" })
    while ((yield* unfinished) > 0) yield* Effect.sleep("50 millis")
  }).pipe(Effect.scoped)
  NodeRuntime.runMain(program.pipe(Effect.provide(Probe.toLayer(({ label }) => record(label)).pipe(Layer.provideMerge(database)))))
} else {
  // Held until the test opens the gate: a job that is surely in progress when the test acts.
  const gate = Effect.sync(() => fs.existsSync(`${outFile}.gate`)).pipe(
    Effect.repeat({ until: (open) => open, schedule: Schedule.spaced("20 millis") })
  )
  const handlers = Probe.toLayer(({ label }) =>
    record(`started ${label} ${process.pid}`).pipe(
      Effect.zipRight(
        label === "stuck"
          ? Effect.never
          : label.startsWith("gate")
          ? gate
          : Effect.sleep(label.startsWith("short") ? "5 millis" : "300 millis")
      ),
      Effect.zipRight(record(`done ${label} ${process.pid}`))
    )
  )
  const supervisor = Layer.unwrapEffect(
    Effect.map(QueueConfig.fromEnv({ supervisorPidfile: null }), (config) => Layer.scopedDiscard(Supervisor.start(config)))
  )
  NodeRuntime.runMain(Layer.launch(supervisor.pipe(Layer.provide(handlers), Layer.provide(database))))
}
