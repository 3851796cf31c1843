/**
 * Spans on the hot path (enqueue, claim, run, finish). Effect's default tracer keeps its spans to itself, so while
 * it is the one in use these spans are not made at all: a span per job costs CPU time that nobody reads. With any
 * other tracer (an OpenTelemetry exporter, say) every one is made, with its attributes.
 */
import { Effect, type Tracer } from "effect"

/** Effect's built-in tracer, read once: a constant of the library, not state of this process. */
const defaultTracer = Effect.runSync(Effect.tracer)

export const hotSpan = (name: string, options: Omit<Tracer.SpanOptions, "captureStackTrace"> = {}) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.tracerWith((tracer) =>
    tracer === defaultTracer ? effect : Effect.withSpan(effect, name, { ...options, captureStackTrace: false })
  )
