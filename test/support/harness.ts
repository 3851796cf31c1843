/**
 * Small helpers the suites share: a probe task that records what ran, event waits, row counts.
 */
import { SqlClient, Statement } from "@effect/sql"
import { type Duration, Effect, Fiber, Layer, Queue, Schema, type Scope, TestClock, TestServices, Tracer } from "effect"
import { JobEvents, Task, Worker } from "../../src/index.js"
import type { JobEvent } from "../../src/JobEvents.js"
import { describeBound, scaled } from "./scale.js"

export const Probe = Task.make("Probe", { payload: Schema.Struct({ label: Schema.String }) })

/** Registers a Probe handler that appends each label it runs to `ran`, then runs `also`. */
export const probeHandler = <E = never>(
  ran: Array<string>,
  also: (label: string) => Effect.Effect<void, E> = () => Effect.void
) =>
  Probe.toLayer(({ label }) => Effect.sync(() => ran.push(label)).pipe(Effect.zipRight(also(label))))

/** Builds handler layers into the current scope (they unregister when it closes). */
export const handlers = <E, R>(layer: Layer.Layer<never, E, R>) => Effect.asVoid(Layer.build(layer))

export const subscribe: Effect.Effect<Queue.Dequeue<JobEvent>, never, JobEvents.JobEvents | Scope.Scope> = Effect
  .flatMap(JobEvents.JobEvents, (e) => e.subscribe)

/** Takes events until `n` Finished events arrived; returns those. */
export const awaitFinished = (sub: Queue.Dequeue<JobEvent>, n: number) =>
  Effect.gen(function*() {
    const finished: Array<Extract<JobEvent, { _tag: "Finished" }>> = []
    while (finished.length < n) {
      const event = yield* Queue.take(sub)
      if (event._tag === "Finished") finished.push(event)
    }
    return finished
  })

export const count = (table: string, where?: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* (where
      ? sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM ${sql(table)} WHERE ${sql.literal(where)}`
      : sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM ${sql(table)}`)
    return Number(rows[0].n)
  }).pipe(Effect.orDie)

/** Runs `effect` and returns, with its result, the SQL text of every statement it executed. */
export const recordStatements = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const statements: Array<string> = []
    const result = yield* Statement.withTransformer(effect, (self) =>
      Effect.sync(() => {
        statements.push(self.compile()[0])
        return self
      }))
    return { result, statements }
  })

export const startWorker = (options: Worker.WorkerOptions = {}) =>
  Worker.start({ pollingInterval: "100 millis", threads: 1, ...options })

/**
 * Waits for `effect` while moving the TestClock forward `step` at a time, pausing a few real milliseconds
 * between steps so fibers woken by the clock can finish their database round trips before the next step.
 */
export const advanceUntil = <A, E, R>(effect: Effect.Effect<A, E, R>, step: Duration.DurationInput = "1 second") =>
  Effect.gen(function*() {
    const driver = yield* Effect.fork(
      Effect.forever(TestClock.adjust(step).pipe(Effect.zipRight(TestServices.provideLive(Effect.sleep("5 millis")))))
    )
    return yield* Effect.ensuring(effect, Fiber.interrupt(driver))
  })

export { describeBound, scaled, timeScale } from "./scale.js"

export interface EventuallyOptions {
  /** The bound in real milliseconds before the time scale (default 60 s). */
  readonly within?: number
  /** What was awaited, for the failure message. */
  readonly what?: string
  /** More for the failure message, computed only then (e.g. what a child process printed). */
  readonly detail?: () => string
}

/**
 * Polls `condition` in real time for effects that happen off the test's fiber, up to `within` (scaled; 60 s by
 * default), then fails saying what it waited for.
 */
export const eventually = <E, R>(condition: Effect.Effect<boolean, E, R>, options: EventuallyOptions = {}) =>
  Effect.gen(function*() {
    const bound = scaled(options.within ?? 60_000)
    const deadline = Date.now() + bound
    while (Date.now() < deadline) {
      if (yield* condition) return
      yield* TestServices.provideLive(Effect.sleep("10 millis"))
    }
    const detail = options.detail ? `\n${options.detail()}` : ""
    return yield* Effect.dieMessage(`${options.what ?? "condition"} not met within ${describeBound(bound)}${detail}`)
  })

/** Installs, for the current scope, a tracer that records every span it starts (and still ends them natively). */
export const recordSpans = Effect.gen(function*() {
  const spans: Array<Tracer.Span> = []
  const native = yield* Effect.tracer
  yield* Effect.withTracerScoped(Tracer.make({
    span: (...args) => {
      const span = native.span(...args)
      spans.push(span)
      return span
    },
    context: (f, fiber) => native.context(f, fiber)
  }))
  return spans
})
