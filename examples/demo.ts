/**
 * The demo behind `npm start`: an embedded SQLite queue in tmp/, a mix of jobs (immediate, delayed, by
 * priority, bulk, one that fails, and a recurring one every 15 seconds), one line per outcome, then a worker that
 * runs until Ctrl-C.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Queue } from "effect"
import * as fs from "node:fs"
import { JobClient, JobEvents, Supervisor } from "steady-queue"
import * as Sqlite from "steady-queue/sqlite"
import { Handlers } from "./handlers.js"
import { ChargeCard, GenerateReport, ResizeImage, SendWelcomeEmail } from "./tasks.js"

const filename = process.env.DEMO_DB ?? "tmp/steady-queue-demo.db"
fs.mkdirSync("tmp", { recursive: true })

const describe = (event: JobEvents.JobEvent) => {
  const { job } = event
  const where = `${job.taskName} #${job.id} (queue ${job.queueName}, priority ${job.priority})`
  switch (event._tag) {
    case "Enqueued":
      return `  enqueued  ${where}${event.job.scheduledAt.getTime() > Date.now() ? ` for ${event.job.scheduledAt.toISOString()}` : ""}`
    case "Started":
      return undefined
    case "Finished":
      return event.outcome === "succeeded"
        ? `✔ succeeded ${where}`
        : `✘ failed    ${where}: ${event.error?.tag}: ${event.error?.message}`
  }
}

const program = Effect.gen(function*() {
  const events = yield* JobEvents.JobEvents
  const outcomes = yield* events.subscribe
  yield* Queue.take(outcomes).pipe(
    Effect.flatMap((event) => {
      const line = describe(event)
      return line === undefined ? Effect.void : Console.log(line)
    }),
    Effect.forever,
    Effect.forkScoped
  )

  yield* Console.log(`steady-queue demo on ${filename}\n`)
  yield* SendWelcomeEmail.enqueue({ userId: 1, email: "ada@example.com" })
  yield* GenerateReport.enqueue(
    { reportId: "weekly", from: new Date(Date.now() - 7 * 86_400_000), to: new Date() },
    { delay: "3 seconds" }
  )
  yield* ChargeCard.enqueue({ orderId: 7, cents: 1_999n })
  yield* ChargeCard.enqueue({ orderId: 8, cents: 250_000n }) // over the limit: fails, and can be retried
  yield* JobClient.enqueueAll(
    Array.from({ length: 5 }, (_, i) => ResizeImage.job({ path: `photos/${i}.jpg`, width: 320 }, { priority: i * 10 }))
  )
  yield* Console.log("\nWorking. Enqueue more from another process, or press Ctrl-C to stop gracefully.\n")
  return yield* Effect.never
})

const supervisor = Supervisor.layer({
  workers: [{ queues: ["default", "email", "media"], threads: 3 }],
  dispatchers: [{ pollingInterval: "500 millis" }]
})

program.pipe(
  Effect.scoped,
  Effect.provide(supervisor),
  Effect.provide(Handlers),
  Effect.provide(Sqlite.layer({ filename, migrate: true })),
  NodeRuntime.runMain
)
