/**
 * A worker that dies at a chosen step. Usage:
 *   node --import tsx test/support/limited-worker.ts <database-url> <out-file>
 * It runs one worker for the "Killable" task (limit 1 per key; each run appends "started <n>" to out-file and
 * returns at once) and kills itself with SIGKILL as soon as it is about to run its first statement on the
 * semaphores table, that is while ending the first job it ran: the kill -9 of a process between a limited job's
 * end and the release of the next blocked job of its key.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Statement } from "@effect/sql"
import { Effect, Layer, Schema } from "effect"
import * as fs from "node:fs"
import { SteadyQueue, Task, Worker } from "../../src/index.js"

const [url, outFile] = process.argv.slice(2)

const Killable = Task.make("Killable", {
  payload: Schema.Struct({ key: Schema.String, n: Schema.Number }),
  concurrency: { key: (p) => p.key, limit: 1, duration: "1 hour" }
})

const killAtSemaphore: Statement.Statement.Transformer = (self) =>
  Effect.sync(() => {
    if (self.compile()[0].includes("steady_queue_semaphores")) {
      fs.appendFileSync(outFile, "killed\n")
      process.kill(process.pid, "SIGKILL")
    }
    return self
  })

const program = Worker.start({ threads: 1, pollingInterval: "20 millis", heartbeatInterval: "200 millis" }).pipe(
  Effect.zipRight(Effect.never),
  Statement.withTransformer(killAtSemaphore),
  Effect.scoped
)

const handlers = Killable.toLayer(({ n }) => Effect.sync(() => fs.appendFileSync(outFile, `started ${n}\n`)))
NodeRuntime.runMain(program.pipe(Effect.provide(handlers.pipe(Layer.provideMerge(SteadyQueue.fromUrl(url))))))
