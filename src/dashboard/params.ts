/**
 * Schemas for what requests carry in their path, query and forms. Query fields are lenient, as a link's query
 * is: a value that does not fit is the default. A field given twice counts with its first value.
 */
import { Option, ParseResult, Schema } from "effect"
import { JobStates } from "../Domain.js"

/** One field of a query or form: its first value when it is given more than once. */
export const Field = Schema.transform(Schema.Union(Schema.String, Schema.Array(Schema.String)), Schema.String, {
  strict: true,
  decode: (value) => (typeof value === "string" ? value : value[0] ?? ""),
  encode: (value) => value
})

/** Free text: trimmed, and none when empty. */
export const Text = Schema.optional(
  Schema.transform(Field, Schema.UndefinedOr(Schema.String), {
    strict: true,
    decode: (value) => (value.trim() === "" ? undefined : value.trim()),
    encode: (value) => value ?? ""
  })
)

/** A job's id as written in a URL: digits only, at most 15 of them (a safe integer). */
export const JobId = Schema.compose(Schema.String.pipe(Schema.pattern(/^\d{1,15}$/)), Schema.NumberFromString)

/** `/jobs/:id` and the actions under it. */
export const JobPath = Schema.Struct({ id: JobId })

const jobIdOf = Schema.decodeUnknownOption(JobId)

const fallback = <A>(value: A) => ({ decodingFallback: () => ParseResult.succeed(value) })

/** The jobs list: a state (failed when missing or unknown), a queue and task to filter on, a cursor. */
export const JobsQuery = Schema.Struct({
  state: Schema.optionalWith(
    Schema.compose(Field, Schema.Literal(...JobStates)).annotations(fallback("failed" as const)),
    { default: () => "failed" as const }
  ),
  queue: Text,
  task: Text,
  before: Schema.optional(
    Schema.transform(Field, Schema.UndefinedOr(Schema.Number), {
      strict: true,
      decode: (value) => Option.getOrUndefined(jobIdOf(value)),
      encode: (id) => (id === undefined ? "" : String(id))
    })
  )
})
