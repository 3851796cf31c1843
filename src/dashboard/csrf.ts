/**
 * CSRF protection for every state-changing request: a signed token in a SameSite=Strict cookie that each form
 * must echo back, and no request from another site.
 */
import { HttpServerRequest, HttpServerResponse, UrlParams } from "@effect/platform"
import { Context, Effect, Option } from "effect"
import { createHmac, randomBytes } from "node:crypto"
import { safeEqual } from "./auth.js"
import { FormRejected, readForm, SubmittedForm } from "./form.js"
import { basePath, cookiePath } from "./paths.js"

export const csrfCookie = "steady_queue_csrf"
export const csrfField = "_csrf"

export interface Csrf {
  /** A new token, to set as the cookie when the request has no valid one. */
  readonly issue: () => string
  readonly isValid: (token: string | undefined) => boolean
  /** The request is a genuine form post from the dashboard: signed cookie, and the form echoes it. */
  readonly verify: (cookie: string | undefined, field: string | undefined) => boolean
}

/** Tokens signed with `secret` (default: a random key, so tokens last as long as the process). */
export const makeCsrf = (secret: string | undefined): Csrf => {
  const key = secret ?? randomBytes(32).toString("hex")
  const sign = (nonce: string) => createHmac("sha256", key).update(nonce).digest("base64url")
  const isValid = (token: string | undefined) => {
    if (token === undefined) return false
    const [nonce, signature, ...rest] = token.split(".")
    return rest.length === 0 && nonce !== undefined && signature !== undefined && nonce.length > 0 &&
      safeEqual(signature, sign(nonce))
  }
  return {
    issue: () => {
      const nonce = randomBytes(18).toString("base64url")
      return `${nonce}.${sign(nonce)}`
    },
    isValid,
    verify: (cookie, field) => isValid(cookie) && field !== undefined && safeEqual(cookie!, field)
  }
}

/** Browsers say where a request comes from; a cross-site one is refused whatever it carries. */
export const isCrossSite = (request: HttpServerRequest.HttpServerRequest): boolean =>
  request.headers["sec-fetch-site"] === "cross-site"

/** The token this request's forms carry: the cookie's, or a new one. */
export class CsrfToken extends Context.Tag("steady-queue/dashboard/CsrfToken")<CsrfToken, string>() {}

/** Middleware: gives `app` the request's token, and sets the cookie when the token is new. */
export const csrfToken = (csrf: Csrf) =>
<E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, Exclude<R, CsrfToken> | HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const cookie = request.cookies[csrfCookie]
    if (csrf.isValid(cookie)) return yield* Effect.provideService(app, CsrfToken, cookie!)
    const token = csrf.issue()
    const response = yield* Effect.provideService(app, CsrfToken, token)
    return HttpServerResponse.unsafeSetCookie(response, csrfCookie, token, {
      httpOnly: true,
      sameSite: "strict",
      path: cookiePath(basePath(request))
    })
  })

/**
 * Middleware for actions: what needs no body first (where the request comes from, the cookie's signature), then
 * the body, bounded, then the form's token; `app` runs only with a form that passed, as `SubmittedForm`.
 */
export const protectForms = (csrf: Csrf) =>
<E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  E | FormRejected,
  Exclude<R, SubmittedForm> | HttpServerRequest.HttpServerRequest
> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const cookie = request.cookies[csrfCookie]
    if (isCrossSite(request) || !csrf.isValid(cookie)) return yield* new FormRejected({ reason: "Forged" })
    const body = yield* readForm(request)
    if (body._tag !== "Form") return yield* new FormRejected({ reason: body._tag })
    if (!csrf.verify(cookie, Option.getOrUndefined(UrlParams.getFirst(body.params, csrfField)))) {
      return yield* new FormRejected({ reason: "Forged" })
    }
    return yield* Effect.provideService(app, SubmittedForm, body.params)
  })
