/**
 * Headers on every dashboard response: no script, styles only from the dashboard, no framing, no caching.
 */
import { HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"

export const securityHeaders = {
  "content-security-policy":
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "same-origin",
  "cache-control": "no-store"
} as const

/** Middleware: adds the security headers to whatever `app` answers. */
export const withSecurityHeaders = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R> =>
  Effect.map(app, (response) => HttpServerResponse.setHeaders(response, securityHeaders))
