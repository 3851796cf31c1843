/**
 * How a job's failure is stored: the error's tag, message and stack, readable by operators and by code.
 */
import { Cause, Option, Schema } from "effect"

export class JobError extends Schema.Class<JobError>("JobError")({
  tag: Schema.String,
  message: Schema.String,
  stack: Schema.NullOr(Schema.String),
  /** A failure the task's `error` schema declares, encoded with it (JSON), so that it decodes back as itself. */
  value: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null })
}) {
  static readonly decodeJson = Schema.decodeUnknownOption(Schema.parseJson(JobError))
  static readonly encodeJson = Schema.encodeSync(Schema.parseJson(JobError))

  /** The first failure of a cause (or its first defect), as stored. */
  static fromCause(cause: Cause.Cause<unknown>): JobError {
    return JobError.fromUnknown(JobError.errorOf(cause))
  }

  /** The error a cause stands for: its first failure, or else its first defect. */
  static errorOf(cause: Cause.Cause<unknown>): unknown {
    const failure = Cause.failureOption(cause)
    return Option.isSome(failure) ? failure.value : Cause.squash(cause)
  }

  static fromUnknown(error: unknown): JobError {
    if (error !== null && typeof error === "object") {
      const e = error as { readonly _tag?: unknown; readonly name?: unknown; readonly message?: unknown; readonly stack?: unknown }
      const tag = typeof e._tag === "string" ? e._tag : typeof e.name === "string" ? e.name : "Error"
      const message = typeof e.message === "string" ? e.message : safeJson(error)
      return new JobError({ tag, message, stack: typeof e.stack === "string" ? e.stack : null })
    }
    return new JobError({ tag: "Error", message: String(error), stack: null })
  }

  /** Reads a stored error; text written by something else is kept as the message. */
  static parse(text: string): JobError {
    return Option.getOrElse(JobError.decodeJson(text), () => new JobError({ tag: "Error", message: text, stack: null }))
  }
}

const safeJson = (value: unknown) => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
