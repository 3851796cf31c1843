/**
 * Who may see the dashboard (HTTP basic auth, or any check the app supplies) and CSRF protection for every
 * state-changing request: a signed token in a SameSite=Strict cookie that each form must echo back.
 */
import { type HttpServerRequest, UrlParams } from "@effect/platform"
import { NodeStream } from "@effect/platform-node"
import { Effect, Redacted, Stream } from "effect"
import { Readable } from "node:stream"
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto"

export type Auth<R = never> =
  | { readonly _tag: "Basic"; readonly username: string; readonly password: Redacted.Redacted; readonly realm: string }
  | {
    readonly _tag: "Check"
    readonly check: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<boolean, never, R>
  }
  | { readonly _tag: "None" }

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

export const csrfCookie = "steady_queue_csrf"
export const csrfField = "_csrf"

export interface Csrf {
  /** A new token, to set as the cookie when the request has no valid one. */
  readonly issue: () => string
  readonly isValid: (token: string | undefined) => boolean
  /** The request is a genuine form post from the dashboard: signed cookie, and the form echoes it. */
  readonly verify: (cookie: string | undefined, field: string | undefined) => boolean
}

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
export const isCrossSite = (request: HttpServerRequest.HttpServerRequest) =>
  request.headers["sec-fetch-site"] === "cross-site"

/** Forms carry a few short fields; anything much larger is not from the dashboard. */
export const maxFormBytes = 64 * 1024

export type FormBody =
  | { readonly _tag: "Form"; readonly params: UrlParams.UrlParams }
  | { readonly _tag: "TooLarge" }
  | { readonly _tag: "Unreadable" }

const declaredLength = (request: HttpServerRequest.HttpServerRequest) => {
  const header = request.headers["content-length"]
  return header === undefined || !/^\d+$/.test(header.trim()) ? undefined : Number(header)
}

/**
 * Reads a form body of at most `limit` bytes: refused from its Content-Length before any of it is read, and,
 * without one (a chunked body), read a chunk at a time, counting bytes, and given up as soon as it passes the
 * limit, so an oversized body is never buffered whole.
 */
export const readForm = (
  request: HttpServerRequest.HttpServerRequest,
  limit = maxFormBytes
): Effect.Effect<FormBody> => {
  const declared = declaredLength(request)
  if (declared !== undefined && declared > limit) return Effect.succeed({ _tag: "TooLarge" })
  if (declared === 0) return Effect.succeed({ _tag: "Form", params: UrlParams.empty })
  const chunks: Array<Uint8Array> = []
  let size = 0
  // On Node, stop reading without destroying the request: that would close the socket before the 413 is sent.
  const body = request.source instanceof Readable
    ? NodeStream.fromReadable<unknown, Uint8Array>(() => request.source as Readable, (e) => e, { closeOnDone: false })
    : request.stream
  return body.pipe(
    Stream.takeUntil((chunk) => {
      size += chunk.length
      if (size <= limit) chunks.push(chunk)
      return size > limit
    }),
    Stream.runDrain,
    Effect.map((): FormBody =>
      size > limit
        ? { _tag: "TooLarge" }
        : { _tag: "Form", params: UrlParams.fromInput(new URLSearchParams(Buffer.concat(chunks).toString("utf8"))) }
    ),
    Effect.catchAll(() => Effect.succeed<FormBody>({ _tag: "Unreadable" }))
  )
}
