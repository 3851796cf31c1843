import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer, Queue, TestServices } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { JobClient, JobEvents, SteadyQueue, Worker } from "../../src/index.js"
import { clientLayer, Db, type DialectName, reset, suiteLayer } from "../support/databases.js"
import { count, eventually, Probe } from "../support/harness.js"
import { spawnChild, waitForExit } from "../support/processes.js"

const jobCount = 2000

/** Every label 0..n-1 exactly once. */
const assertExactlyOnce = (labels: ReadonlyArray<string>, n: number) => {
  const seen = new Map<string, number>()
  for (const l of labels) seen.set(l, (seen.get(l) ?? 0) + 1)
  const twice = [...seen.entries()].filter(([, k]) => k > 1)
  assert.deepStrictEqual(twice, [], "jobs run more than once")
  assert.strictEqual(seen.size, n, "jobs never run")
}

const tempFile = (name: string) => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "steady-queue-")), name)

/** Four workers, each with its own connection pool and 8 threads, in this process. */
const inProcessRace = Effect.gen(function*() {
  const db = yield* Db
  const ran: Array<string> = []
  const finished = yield* Effect.forEach([1, 2, 3, 4], () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        Probe.toLayer(({ label }) => Effect.sync(() => ran.push(label))).pipe(
          Layer.provideMerge(SteadyQueue.layer().pipe(Layer.provide(clientLayer(db)), Layer.orDie))
        )
      )
      const events = Context.get(context, JobEvents.JobEvents)
      const sub = yield* events.subscribe
      yield* Worker.start({ threads: 8, pollingInterval: "10 millis" }).pipe(Effect.provide(context))
      return sub
    }))
  yield* eventually(Effect.map(count("steady_queue_jobs", "finished_at IS NOT NULL"), (n) => n === jobCount))
  const perWorker = yield* Effect.forEach(finished, (sub) => Effect.map(Queue.takeAll(sub), (c) => c.length))
  return { ran, perWorker }
})

/** Four processes sharing the database (one SQLite file, for SQLite). */
const multiProcessRace = Effect.gen(function*() {
  const db = yield* Db
  const out = Array.from({ length: 4 }, (_, i) => tempFile(`ran-${i}.txt`))
  const exits = yield* Effect.promise(() =>
    Promise.all(out.map((file) => waitForExit(spawnChild("test/support/child-worker.ts", [db.url, "race", file]), 90_000)))
  )
  for (const exit of exits) assert.strictEqual(exit.code, 0, exit.output)
  const perProcess = out.map((file) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : []))
  return { ran: perProcess.flat(), perWorker: perProcess.map((p) => p.length) }
})

export const raceSuite = (dialect: DialectName) =>
  layer(suiteLayer(dialect), { timeout: "120 seconds" })("races", (it) => {
    it.effect(`4 workers with 8 threads each run ${jobCount} jobs exactly once`, () =>
      Effect.gen(function*() {
        yield* reset
        yield* JobClient.enqueueAll(Array.from({ length: jobCount }, (_, i) => Probe.job({ label: String(i) })))
        const { ran, perWorker } = yield* (dialect === "sqlite" ? multiProcessRace : inProcessRace)
        assertExactlyOnce(ran, jobCount)
        // Everyone got a share: the claim really was contended.
        assert.isTrue(perWorker.filter((n) => n > 0).length >= 2, `work split: ${perWorker.join(", ")}`)
        assert.strictEqual(yield* count("steady_queue_jobs", "finished_at IS NOT NULL"), jobCount)
        assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
        assert.strictEqual(yield* count("steady_queue_ready_executions"), 0)
      }).pipe(Effect.scoped, TestServices.provideLive), 120_000)

    it.effect("SIGTERM: polling stops, running jobs get shutdownTimeout, the rest go back to ready", () =>
      Effect.gen(function*() {
        yield* reset
        const db = yield* Db
        const out = tempFile("signals.txt")
        const slow = yield* Probe.enqueue({ label: "slow" })
        const stuck = yield* Probe.enqueue({ label: "stuck" })
        const child = spawnChild("test/support/child-worker.ts", [db.url, "supervisor", out], {
          shutdownTimeout: "1 second",
          workers: [{ threads: 2, pollingInterval: "50 millis" }],
          dispatchers: [{ pollingInterval: "200 millis" }]
        })
        const exited = waitForExit(child, 30_000)
        yield* eventually(Effect.sync(() => fs.existsSync(out) && fs.readFileSync(out, "utf8").split("\n").filter((l) => l.startsWith("started")).length === 2))
        child.kill("SIGTERM")
        const exit = yield* Effect.promise(() => exited)
        assert.strictEqual(exit.code, 0, exit.output)
        const lines = fs.readFileSync(out, "utf8").split("\n").filter(Boolean)
        assert.isTrue(lines.some((l) => l.startsWith("done slow ")), lines.join("\n"))
        assert.isFalse(lines.some((l) => l.startsWith("done stuck ")))
        const state = (id: number) => Effect.map(JobClient.find(id), (j) => j._tag === "Some" ? j.value.state : "missing")
        assert.strictEqual(yield* state(slow.id), "finished")
        assert.strictEqual(yield* state(stuck.id), "ready")
        assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
        assert.strictEqual(yield* count("steady_queue_processes"), 0)
      }).pipe(TestServices.provideLive), 60_000)
  })
