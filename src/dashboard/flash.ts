/**
 * One-time messages: an action redirects with what it did in a short-lived cookie, the next page shows it and
 * clears it.
 */
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Context, Effect, Option } from "effect"
import { basePath, cookiePath } from "./paths.js"

export interface Flash {
  readonly kind: "notice" | "error"
  readonly message: string
}

export const flashCookie = "steady_queue_flash"

export const encodeFlash = (flash: Flash): string => Buffer.from(JSON.stringify(flash)).toString("base64url")

/** The message in a cookie, if it holds one; anything else (tampered, truncated, old) is no message. */
export const decodeFlash = (value: string | undefined): Option.Option<Flash> => {
  if (value === undefined || value === "") return Option.none()
  try {
    const parsed = JSON.parse(Buffer.from(value, "base64url").toString("utf8")) as Partial<Flash> | null
    return typeof parsed?.message === "string" && (parsed.kind === "notice" || parsed.kind === "error")
      ? Option.some({ kind: parsed.kind, message: parsed.message })
      : Option.none()
  } catch {
    return Option.none()
  }
}

/** The message the request brought, to show on the page it asks for. */
export class IncomingFlash extends Context.Tag("steady-queue/dashboard/IncomingFlash")<IncomingFlash, Option.Option<Flash>>() {}

/** Middleware: gives `app` the request's message and clears it once a page has shown it. */
export const flashMessages = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, Exclude<R, IncomingFlash> | HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const flash = decodeFlash(request.cookies[flashCookie])
    const response = yield* Effect.provideService(app, IncomingFlash, flash)
    // A POST sets the next message itself; clearing the old one here would overwrite it.
    return Option.isSome(flash) && request.method !== "POST"
      ? HttpServerResponse.unsafeSetCookie(response, flashCookie, "", {
        path: cookiePath(basePath(request)),
        maxAge: 0,
        httpOnly: true,
        sameSite: "strict"
      })
      : response
  })

/** A 303 to `location`, carrying `flash` for the page there. */
export const redirectWithFlash = (location: string, flash: Flash, base: string): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeSetCookie(
    HttpServerResponse.redirect(location, { status: 303 }),
    flashCookie,
    encodeFlash(flash),
    { path: cookiePath(base), httpOnly: true, sameSite: "strict", maxAge: "60 seconds" }
  )
