/**
 * A worker in a process of its own, for the multi-process tests. Usage:
 *   node --import tsx test/support/child-worker.ts <database-url> <mode> <out-file>
 * mode "race":       run Probe jobs, append each label to out-file, exit once no job is left unfinished.
 * mode "supervisor": run the supervisor until signalled; "slow" jobs take 300 ms, "stuck" ones never end.
 */
import { NodeRuntime } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Schema } from "effect"
import * as fs from "node:fs"
import { SteadyQueue, Supervisor, Task, Worker } from "../../src/index.js"

const [url, mode, outFile] = process.argv.slice(2)
const Probe = Task.make("Probe", { payload: Schema.Struct({ label: Schema.String }) })
const record = (label: string) => Effect.sync(() => fs.appendFileSync(outFile, `${label}\n`))

const database = SteadyQueue.fromUrl(url)

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
  const handlers = Probe.toLayer(({ label }) =>
    record(`started ${label}`).pipe(
      Effect.zipRight(label === "stuck" ? Effect.never : Effect.sleep("300 millis")),
      Effect.zipRight(record(`done ${label}`))
    )
  )
  const supervisor = Supervisor.layer({
    shutdownTimeout: "1 second",
    workers: [{ threads: 2, pollingInterval: "50 millis" }],
    dispatchers: [{ pollingInterval: "200 millis" }]
  })
  NodeRuntime.runMain(Layer.launch(supervisor.pipe(Layer.provide(handlers), Layer.provide(database))))
}
