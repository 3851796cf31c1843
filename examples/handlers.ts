/**
 * Handlers, one layer each; the worker process provides them to the supervisor.
 */
import { Effect, Layer } from "effect"
import { CurrentJob, Recurring } from "steady-queue"
import { CardDeclined, ChargeCard, GenerateReport, Heartbeat, ResizeImage, SendWelcomeEmail } from "./tasks.js"

export const Handlers = Layer.mergeAll(
  SendWelcomeEmail.toLayer(({ email }) => Effect.sleep("50 millis").pipe(Effect.as(`sent to ${email}`))),
  GenerateReport.toLayer(({ from, to }) =>
    Effect.gen(function*() {
      const job = yield* CurrentJob.CurrentJob
      yield* Effect.sleep("200 millis")
      yield* Effect.logDebug(`report ${job.id} covers ${from.toISOString()} to ${to.toISOString()}`)
    })
  ),
  ResizeImage.toLayer(() => Effect.sleep("20 millis")),
  ChargeCard.toLayer(({ cents, orderId }) =>
    cents > 100_000n
      ? Effect.fail(new CardDeclined({ orderId, message: `amount ${cents} exceeds the card limit` }))
      : Effect.void
  ),
  Heartbeat.toLayer(() => Effect.void),
  // A recurring task: the scheduler enqueues it every 15 seconds (6 fields: seconds first).
  Recurring.make({ key: "demo-heartbeat", schedule: "*/15 * * * * *", task: Heartbeat, payload: { source: "demo" } })
)
