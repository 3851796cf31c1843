/**
 * Worker drain on a fresh database: N no-op jobs are enqueued, then one worker (threads T, prefetch P) drains
 * them in this process; prints jobs/s and the process CPU per job during the drain (user + system CPU seconds /
 * jobs). With PROFILE=file.cpuprofile the drain alone is profiled (open it in Chrome's DevTools). Not part of the
 * tests.
 *   npx tsx bench/drain.ts pg|mysql|sqlite [N=20000] [T=10] [P=auto]
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer, ManagedRuntime, Schema, Scope, Exit } from "effect"
import { freshDatabase } from "./freshDatabase.js"
import { startProfile } from "./profile.js"
import { JobClient, Task, Worker } from "../src/index.js"

const [dialect = "pg", nArg = "20000", tArg = "10", pArg = "auto"] = process.argv.slice(2)
const N = Number(nArg), T = Number(tArg), P = pArg === "auto" ? "auto" as const : Number(pArg)
const Bench = Task.make("bench", { payload: Schema.Struct({ i: Schema.Number }), queue: "bench" })

const fresh = () => freshDatabase(dialect, "sq_drain_bench")

let handled = 0
const services = await fresh()
const rt = ManagedRuntime.make(Bench.toLayer(() => Effect.sync(() => void handled++)).pipe(Layer.provideMerge(services)) as Layer.Layer<any, any>)
await rt.runtime()
const run = <A>(e: Effect.Effect<A, unknown, any>) => rt.runPromise(e as Effect.Effect<A, unknown, never>)
for (let off = 0; off < N; off += 1000) {
  await run(JobClient.enqueueAll(Array.from({ length: Math.min(1000, N - off) }, (_, k) => Bench.job({ i: off + k }))))
}
const left = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ n: number }>`SELECT (SELECT COUNT(*) FROM steady_queue_ready_executions) + (SELECT COUNT(*) FROM steady_queue_claimed_executions) AS n`)
const profile = await startProfile(process.env.PROFILE)
const cpu0 = process.cpuUsage()
const t0 = performance.now()
const scope = await run(Scope.make())
await run(Scope.extend(Worker.start({ threads: T, prefetch: P, pollingInterval: "10 millis" }), scope))
while (handled < N) await new Promise((r) => setTimeout(r, 5))
while (Number((await run(left))[0].n) > 0) await new Promise((r) => setTimeout(r, 5))
const ms = performance.now() - t0
const cpu = process.cpuUsage(cpu0)
await profile.stop()
await run(Scope.close(scope, Exit.void))
await rt.dispose()
console.log(JSON.stringify({
  dialect, N, threads: T, prefetch: P,
  jobs_per_s: Math.round(N * 1000 / ms),
  cpu_ms_per_job: Number(((cpu.user + cpu.system) / 1000 / N).toFixed(4))
}))
