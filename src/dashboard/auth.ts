/**
 * Who may see the dashboard: HTTP basic auth, any check the app supplies, or nobody asked (an explicit choice).
 * Checked before anything else, for every page and every action.
 */
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { type Context, Effect, Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"

export type Auth<R = never> =
  | { readonly _tag: "Basic"; readonly username: string; readonly password: Redacted.Redacted; readonly realm: string }
  | {
    readonly _tag: "Check"
    readonly check: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<boolean, never, R>
  }
  | { readonly _tag: "None" }

/** HTTP basic auth against one username and password. */
export const basicAuth = (options: {
  readonly username: string
  readonly password: string | Redacted.Redacted
  readonly realm?: string
}): Auth => ({
  _tag: "Basic",
  username: options.username,
  password: typeof options.password === "string" ? Redacted.make(options.password) : options.password,
  // The realm goes into a header: printable ASCII only, without quotes or backslashes.
  realm: (options.realm ?? "steady-queue").replace(/[^\x20-\x7e]|["\\]/g, "") || "steady-queue"
})

/** Your own check (a session, a header set by your proxy, ...): answer true to let the request in. */
export const authenticate = <R = never>(
  check: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<boolean, never, R>
): Auth<R> => ({ _tag: "Check", check })

/** No authentication: only for a dashboard reachable solely from a trusted network. */
export const noAuth: Auth = { _tag: "None" }

const digest = (s: string) => createHash("sha256").update(s).digest()
/** Compares in time independent of where the strings differ. */
export const safeEqual = (a: string, b: string) => timingSafeEqual(digest(a), digest(b))

const basicCredentials = (header: string | undefined) => {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "")
  if (match === null) return undefined
  const decoded = Buffer.from(match[1], "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/** Whether the request may proceed. */
export const authorize = <R>(auth: Auth<R>, request: HttpServerRequest.HttpServerRequest): Effect.Effect<boolean, never, R> => {
  switch (auth._tag) {
    case "None":
      return Effect.succeed(true)
    case "Check":
      return auth.check(request)
    case "Basic": {
      const given = basicCredentials(request.headers["authorization"])
      if (given === undefined) return Effect.succeed(false)
      // Both compared, always, so timing does not tell which one was wrong.
      const user = safeEqual(given.username, auth.username)
      const password = safeEqual(given.password, Redacted.value(auth.password))
      return Effect.succeed(user && password)
    }
  }
}

const refusal = (auth: Auth<unknown>) =>
  auth._tag === "Basic"
    ? HttpServerResponse.text("Authentication required", {
      status: 401,
      headers: { "www-authenticate": `Basic realm="${auth.realm}", charset="UTF-8"` }
    })
    : HttpServerResponse.text("Forbidden", { status: 403 })

/** Middleware: lets the request through to `app` only if `auth` allows it; `context` is what the app's check needs. */
export const requireAuth = <RA>(auth: Auth<RA>, context: Context.Context<RA>) =>
<E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    Effect.flatMap(
      Effect.provide(authorize(auth, request), context),
      (allowed) => allowed ? app : Effect.succeed(refusal(auth))
    ))
