import { SqlClient } from "@effect/sql"
import { Effect, Exit, Layer, Queue, Schema, Scope } from "effect"
import { JobClient, JobEvents, SteadyQueue, Task, Worker } from "../src/index.js"
const Noop = Task.make("Noop", { payload: Schema.Struct({ n: Schema.Number }) })
const n = Number(process.env.N ?? 20000)
const url = process.argv[2] ?? "postgres://postgres@127.0.0.1:5432/test"
const program = Effect.gen(function*() {
  const client = yield* JobClient.JobClient
  yield* client.enqueueAll(Array.from({ length: n }, (_, i) => Noop.job({ n: i })))
  const sql = yield* SqlClient.SqlClient
  yield* sql.onDialectOrElse({ mysql: () => sql`ANALYZE TABLE steady_queue_jobs, steady_queue_ready_executions`, orElse: () => sql`ANALYZE` })
  const scope = yield* Scope.make()
  const events = yield* Scope.extend(Effect.flatMap(JobEvents.JobEvents, (e) => e.subscribe), scope)
  const t = performance.now()
  yield* Scope.extend(Worker.start({ threads: Number(process.env.T ?? 32), pollingInterval: "10 millis" }), scope)
  let finished = 0
  while (finished < n) {
    const batch = yield* Queue.takeBetween(events, 1, 4096)
    for (const e of batch) if (e._tag === "Finished") finished++
  }
  console.log("drain jobs/s", Math.round(n / ((performance.now() - t) / 1000)))
  yield* Scope.close(scope, Exit.void)
})
Effect.runPromise(program.pipe(Effect.provide(Noop.toLayer(() => Effect.void).pipe(Layer.provideMerge(SteadyQueue.fromUrl(url, { migrate: true })))))).then(() => process.exit(0))
