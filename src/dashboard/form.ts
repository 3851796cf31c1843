/**
 * Form bodies: read with a bound (forms carry a few short fields; anything much larger is not from the
 * dashboard), then decoded with a schema.
 */
import { type HttpServerRequest, UrlParams } from "@effect/platform"
import { NodeStream } from "@effect/platform-node"
import { Context, Effect, Schema, Stream } from "effect"
import { Readable } from "node:stream"

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
 * limit, so an oversized body is never buffered whole. (`HttpServerRequest.schemaBodyUrlParams` would read a web
 * request's body whole, whatever its size.)
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

/**
 * A form refused before its action runs: not sent from this dashboard (or expired), over the size limit, or
 * not readable as a form.
 */
export class FormRejected extends Schema.TaggedError<FormRejected>()("FormRejected", {
  reason: Schema.Literal("Forged", "TooLarge", "Unreadable")
}) {}

/** The form of a POST whose CSRF token checked out. */
export class SubmittedForm extends Context.Tag("steady-queue/dashboard/SubmittedForm")<SubmittedForm, UrlParams.UrlParams>() {}

/** The submitted form's fields, decoded with `schema` (the way `HttpServerRequest.schemaBodyUrlParams` would). */
export const decodeForm = <A, I extends Readonly<Record<string, string | ReadonlyArray<string> | undefined>>>(
  schema: Schema.Schema<A, I>
): Effect.Effect<A, FormRejected, SubmittedForm> => {
  const decode = UrlParams.schemaStruct(schema)
  return Effect.flatMap(
    SubmittedForm,
    (form) => Effect.mapError(decode(form), () => new FormRejected({ reason: "Unreadable" }))
  )
}
