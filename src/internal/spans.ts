/**
 * Spans on the hot path (enqueue, claim, run, finish). Effect's default tracer keeps its spans to itself, so while
 * it is the one in use these spans are not made at all: a span per job costs CPU time that nobody reads. With any
 * other tracer (an OpenTelemetry exporter, say) every one is made, with its attributes.
 */
import { Effect, type Tracer } from "effect"

/** Effect's built-in tracer, read once: a constant of the library, not state of this process. */
const defaultTracer = Effect.runSync(Effect.tracer)

/** Whether spans are made at all: the tracer in use is not Effect's default. */
export const tracing: Effect.Effect<boolean> = Effect.map(Effect.tracer, (tracer) => tracer !== defaultTracer)

export const hotSpan = <A>(
  name: string,
  options: Omit<Tracer.SpanOptions, "captureStackTrace"> = {},
  /** Attributes known once the effect succeeded, set on this span only (never on a caller's). */
  resultAttributes?: (a: A) => Record<string, unknown>
) =>
<E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.tracerWith((tracer) => {
    if (tracer === defaultTracer) return effect
    const annotated = resultAttributes === undefined
      ? effect
      : Effect.tap(effect, (a) => Effect.annotateCurrentSpan(resultAttributes(a)))
    return Effect.withSpan(annotated, name, { ...options, captureStackTrace: false })
  })
