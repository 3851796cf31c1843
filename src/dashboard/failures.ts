/**
 * What the operator sees when a request does not go as asked: a refused form gets its own page, a request the
 * queue refuses (an operator error) becomes the next page's message, anything else is a logged server error.
 */
import { HttpServerResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import { isOperatorError, type OperatorError } from "../Errors.js"
import { FormRejected, maxFormBytes } from "./form.js"
import { messagePage } from "./pages.js"
import { CurrentView } from "./request.js"
import { htmlResponse, type View } from "./view.js"

/** A request the dashboard itself cannot carry out as asked (no such job, a state that cannot be bulk-discarded). */
export class ExpectedFailure extends Schema.TaggedError<ExpectedFailure>()("ExpectedFailure", { message: Schema.String }) {}

/** Told to the operator, not logged as a fault. */
export const isExpected = (error: unknown): error is OperatorError | ExpectedFailure =>
  isOperatorError(error) || error instanceof ExpectedFailure

const rejected = (view: View, reason: FormRejected["reason"]) => {
  switch (reason) {
    case "Forged":
      return htmlResponse(
        messagePage(view, "Form expired", "The form was not sent from this dashboard, or it has expired. Go back, reload the page and try again."),
        403
      )
    case "TooLarge":
      return htmlResponse(messagePage(view, "Request too large", `A form is at most ${maxFormBytes / 1024} KiB.`), 413)
    case "Unreadable":
      return htmlResponse(messagePage(view, "Bad request", "The form could not be read."), 400)
  }
}

/** Middleware: answers every failure of `app` with a page. */
export const renderFailures = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R | CurrentView> =>
  Effect.catchAll(app, (error) =>
    Effect.flatMap(CurrentView, (view) => {
      if (error instanceof FormRejected) {
        const response = rejected(view, error.reason)
        // The rest of an oversized body is not read: close the connection rather than keep it for another request.
        return Effect.succeed(error.reason === "TooLarge" ? HttpServerResponse.setHeader(response, "connection", "close") : response)
      }
      return Effect.as(
        Effect.logError("steady-queue dashboard: request failed", error),
        htmlResponse(messagePage(view, "Something went wrong", "The dashboard could not read the queue database; see the server log."), 500)
      )
    }))
