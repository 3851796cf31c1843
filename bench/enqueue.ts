/**
 * Enqueue throughput on a fresh database (dropped and migrated each round): N jobs in batches of B through
 * JobClient.enqueueAll; prints jobs/s per round, the median, and the median CPU of this process per job. With
 * PROFILE=file.cpuprofile the last round is profiled. Not part of the tests.
 *   npx tsx bench/enqueue.ts pg|mysql|sqlite [N=20000] [B=1000] [rounds=3]
 *   SETUP_SQL="...;..."  statements run after the migrations, before the clock starts (to compare schemas)
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer, ManagedRuntime, Schema } from "effect"
import { freshDatabase } from "./freshDatabase.js"
import { startProfile } from "./profile.js"
import { JobClient, Task } from "../src/index.js"

const [dialect = "pg", nArg = "20000", bArg = "1000", rArg = "3"] = process.argv.slice(2)
const N = Number(nArg), B = Number(bArg), R = Number(rArg)
const Bench = Task.make("bench", { payload: Schema.Struct({ i: Schema.Number }), queue: "bench" })

const fresh = () => freshDatabase(dialect, "sq_enqueue_bench")

const results: number[] = []
const cpu: number[] = []
for (let r = 0; r < R; r++) {
  const rt = ManagedRuntime.make(await fresh() as Layer.Layer<any, any>)
  await rt.runtime()
  // SETUP_SQL: statements (;-separated) run after the migrations, before the clock starts (to compare schemas).
  for (const stmt of (process.env.SETUP_SQL ?? "").split(";").filter((x) => x.trim() !== "")) {
    await rt.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(stmt)) as Effect.Effect<unknown, unknown, never>)
  }
  const profile = await startProfile(r === R - 1 ? process.env.PROFILE : undefined)
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  for (let off = 0; off < N; off += B) {
    const jobs = Array.from({ length: Math.min(B, N - off) }, (_, k) => Bench.job({ i: off + k }))
    await rt.runPromise(JobClient.enqueueAll(jobs) as Effect.Effect<unknown, unknown, never>)
  }
  const ms = performance.now() - t0
  const used = process.cpuUsage(c0)
  await profile.stop()
  results.push(Math.round(N * 1000 / ms))
  cpu.push((used.user + used.system) / 1000 / N)
  await rt.dispose()
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
console.log(JSON.stringify({ dialect, N, B, jobs_per_s: results, median: median(results), cpu_ms_per_job: Number(median(cpu).toFixed(4)) }))
