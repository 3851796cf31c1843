/**
 * Task definitions: importable by any producer without pulling in handler code.
 */
import { Schema } from "effect"
import { Task } from "steady-queue"

export const SendWelcomeEmail = Task.make("SendWelcomeEmail", {
  payload: Schema.Struct({ userId: Schema.Number, email: Schema.String }),
  queue: "email"
})

export const GenerateReport = Task.make("GenerateReport", {
  payload: Schema.Struct({ reportId: Schema.String, from: Schema.Date, to: Schema.Date })
})

export const ResizeImage = Task.make("ResizeImage", {
  payload: Schema.Struct({ path: Schema.String, width: Schema.Int }),
  queue: "media",
  priority: -10
})

export const ChargeCard = Task.make("ChargeCard", {
  payload: Schema.Struct({ orderId: Schema.Number, cents: Schema.BigInt }),
  priority: 50
})

export class CardDeclined extends Schema.TaggedError<CardDeclined>()("CardDeclined", {
  orderId: Schema.Number,
  message: Schema.String
}) {}

export const Heartbeat = Task.make("Heartbeat", { payload: Schema.Struct({ source: Schema.String }) })
