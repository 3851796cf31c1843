import { assert, layer } from "@effect/vitest"
import { Clock, Deferred, Duration, Effect, Either, Fiber, Layer, Option, Queue, Schedule, Schema, TestClock, TestServices } from "effect"
import { Admin, CurrentJob, Dispatcher, JobClient, type JobHandle, QueueConfig, Task } from "../../src/index.js"
import { JobAwaitTimeoutError, JobCancelledError, JobFailedError, JobNotFoundError } from "../../src/Errors.js"
import { Store } from "../../src/internal/Store.js"
import { Wakeup } from "../../src/internal/Wakeup.js"
import { type DialectName, reset, suiteLayer } from "../support/databases.js"
import { advanceUntil, count, eventually, handlers, Probe, startWorker } from "../support/harness.js"

class Declined extends Schema.TaggedError<Declined>()("Declined", { reason: Schema.String, cents: Schema.Number }) {}
class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", { retryInSeconds: Schema.Number }) {}
class Transient extends Schema.TaggedError<Transient>()("Transient", { attempt: Schema.Number }) {}
/** A failure no task below declares. */
class Undeclared extends Schema.TaggedError<Undeclared>()("Undeclared", { message: Schema.String }) {}

// The result is stored encoded ("42" as text) and decoded back: `await` must go through the schema.
const Double = Task.make("HandlesDouble", {
  payload: Schema.Struct({ n: Schema.Number }),
  success: Schema.Struct({ doubled: Schema.NumberFromString })
})
const Greet = Task.make("HandlesGreet", { payload: Schema.Struct({ name: Schema.String }), success: Schema.String })

const Outcome = Schema.Literal("ok", "declined", "unavailable", "undeclared", "defect")
const Charge = Task.make("HandlesCharge", {
  payload: Schema.Struct({ outcome: Outcome }),
  success: Schema.String,
  error: Schema.Union(Declined, Unavailable)
})

const AlwaysFails = Task.make("HandlesAlwaysFails", {
  payload: Schema.Struct({}),
  error: Declined,
  retry: { schedule: Schedule.exponential("1 second"), maxAttempts: 4 }
})

/** What the `while` of `Picky` was shown, in order. */
const seenByWhile: Array<string> = []
const Step = Schema.Literal("transient", "defect", "permanent")
const Picky = Task.make("HandlesPicky", {
  payload: Schema.Struct({ plan: Schema.Array(Step) }),
  error: Schema.Union(Transient, Declined),
  retry: {
    maxAttempts: 5,
    schedule: Schedule.spaced("1 second"),
    while: (error) => {
      seenByWhile.push(error._tag === "JobFailedError" ? `JobFailedError/${error.tag}` : error._tag)
      return error._tag === "Transient" || error._tag === "JobFailedError"
    }
  }
})

const Sleepy = Task.make("HandlesSleepy", {
  payload: Schema.Struct({}),
  timeout: "1 second",
  retry: { maxAttempts: 2, schedule: Schedule.spaced("1 second") }
})

const Perishable = Task.make("HandlesPerishable", {
  payload: Schema.Struct({ label: Schema.String }),
  expire: "1 minute",
  retry: { maxAttempts: 3 }
})

const Exclusive = Task.make("HandlesExclusive", {
  payload: Schema.Struct({ n: Schema.Number }),
  concurrency: { key: "only", limit: 1 },
  retry: { maxAttempts: 3, schedule: Schedule.spaced("1 second") }
})

const Quick = Task.make("HandlesQuick", {
  payload: Schema.Struct({ round: Schema.Number }),
  success: Schema.Number,
  retry: { maxAttempts: 3 }
})

const Halve = Task.make("HandlesHalve", {
  payload: Schema.Struct({ n: Schema.Number }),
  success: Schema.Int,
  retry: { maxAttempts: 3 }
})

/** A task that declares its own policy: no retry, whatever the configuration's default. */
const Once = Task.make("HandlesOnce", { payload: Schema.Struct({}), retry: { maxAttempts: 1 } })

type AnyHandle = JobHandle.JobHandle<unknown, unknown>

const infoOf = (handle: AnyHandle) => Effect.map(handle.info, Option.getOrThrow)

/** Attempts recorded so far; -1 if the job is gone. */
const historyLength = (handle: AnyHandle) =>
  Effect.map(handle.info, (i) => Option.match(i, { onNone: () => -1, onSome: (j) => j.attemptHistory.length }))

const statusIs = (handle: AnyHandle, status: JobHandle.JobStatus) => Effect.map(handle.status, (s) => s === status)

/**
 * One pass of a dispatcher, run by the test so that the clock stands still from it to the attempt it starts:
 * due jobs move to ready and the worker is woken. Returns how many moved.
 */
const dispatchDue = Effect.gen(function*() {
  const store = yield* Store
  const due = yield* store.scheduled.due(100, yield* Clock.currentTimeMillis).pipe(Effect.orDie)
  if (due.length > 0) yield* Effect.flatMap(Wakeup, (w) => w.ring)
  return due.length
})

const ms = (date: Date) => date.getTime()

export const handlesSuite = (dialect: DialectName) =>
  layer(suiteLayer(dialect), { timeout: "60 seconds" })("job handles", (it) => {
    it.scoped("await decodes the result with the success schema; a handle rebuilt from the id reads it; scheduled -> ready -> running -> succeeded; an unknown id is missing", () =>
      Effect.gen(function*() {
        yield* reset
        const started = yield* Deferred.make<void>()
        const gate = yield* Deferred.make<void>()
        yield* handlers(Double.toLayer(({ n }) =>
          Deferred.succeed(started, undefined).pipe(Effect.zipRight(Deferred.await(gate)), Effect.as({ doubled: n * 2 }))
        ))
        const handle = yield* Double.enqueue({ n: 21 }, { delay: "1 second" })
        assert.strictEqual(yield* handle.status, "scheduled")
        yield* Dispatcher.start({ pollingInterval: "100 millis" })
        yield* advanceUntil(eventually(statusIs(handle, "ready"), { what: "the delayed job dispatched" }), "100 millis")
        yield* startWorker()
        yield* Deferred.await(started)
        assert.strictEqual(yield* handle.status, "running")
        // An await that gives up leaves the job running.
        const gaveUp = yield* advanceUntil(Effect.flip(handle.await({ timeout: "1 second" })), "100 millis")
        assert.instanceOf(gaveUp, JobAwaitTimeoutError)
        assert.strictEqual(gaveUp.jobId, handle.id)
        assert.strictEqual(yield* handle.status, "running")

        yield* Deferred.succeed(gate, undefined)
        const result = yield* handle.await()
        assert.deepStrictEqual(result, { doubled: 42 })
        assert.strictEqual(yield* handle.status, "succeeded")
        const info = yield* infoOf(handle)
        assert.deepStrictEqual(Option.map(info.result, (r) => JSON.parse(r)), Option.some({ doubled: "42" }))
        assert.isTrue(Option.isSome(info.startedAt) && Option.isSome(info.finishedAt))
        assert.deepStrictEqual(info.attemptHistory, [])

        const rebuilt = yield* Double.handle(handle.id)
        assert.deepStrictEqual(yield* rebuilt.await(), { doubled: 42 })
        assert.strictEqual(yield* rebuilt.status, "succeeded")

        const unknown = yield* Double.handle(2_000_000_000)
        assert.strictEqual(yield* unknown.status, "missing")
        assert.isTrue(Option.isNone(yield* unknown.info))
        const notFound = yield* Effect.flip(unknown.await())
        assert.instanceOf(notFound, JobNotFoundError)
      }))

    it.scoped("a declared failure comes back as itself; an undeclared failure and a defect as JobFailedError with their tag and message", () =>
      Effect.gen(function*() {
        yield* reset
        yield* handlers(Charge.toLayer(({ outcome }): Effect.Effect<string, Declined | Unavailable | Undeclared> =>
          outcome === "declined"
            ? Effect.fail(new Declined({ reason: "insufficient funds", cents: 1250 }))
            : outcome === "unavailable"
            ? Effect.fail(new Unavailable({ retryInSeconds: 30 }))
            : outcome === "undeclared"
            ? Effect.fail(new Undeclared({ message: "not in the union" }))
            : outcome === "defect"
            ? Effect.die(new RangeError("cents out of range"))
            : Effect.succeed("charged")
        ))
        const outcomes = ["ok", "declined", "unavailable", "undeclared", "defect"] as const
        const [ok, declined, unavailable, undeclared, defect] = yield* JobClient.enqueueAll(
          outcomes.map((outcome) => Charge.job({ outcome }))
        )
        yield* startWorker({ threads: 5 })

        assert.strictEqual(yield* ok.await(), "charged")

        const e1 = yield* Effect.flip(declined.await())
        assert.instanceOf(e1, Declined)
        assert.strictEqual(e1._tag, "Declined")
        assert.deepStrictEqual({ reason: e1.reason, cents: e1.cents }, { reason: "insufficient funds", cents: 1250 })
        // Decoded the same from a handle rebuilt elsewhere.
        const again = yield* Effect.flip((yield* Charge.handle(declined.id)).await())
        assert.instanceOf(again, Declined)
        assert.strictEqual(again.cents, 1250)

        const e2 = yield* Effect.flip(unavailable.await())
        assert.instanceOf(e2, Unavailable)
        assert.strictEqual(e2.retryInSeconds, 30)

        const e3 = yield* Effect.flip(undeclared.await())
        assert.instanceOf(e3, JobFailedError)
        assert.deepStrictEqual([e3.jobId, e3.tag, e3.message], [undeclared.id, "Undeclared", "not in the union"])

        const e4 = yield* Effect.flip(defect.await())
        assert.instanceOf(e4, JobFailedError)
        assert.deepStrictEqual([e4.jobId, e4.tag, e4.message], [defect.id, "RangeError", "cents out of range"])
        assert.include(e4.stack ?? "", "handles.ts")

        for (const h of [declined, unavailable, undeclared, defect]) assert.strictEqual(yield* h.status, "failed")
      }))

    it.scoped("retries at the schedule's times (+1 s, +2 s, +4 s after each failure), then fails with every attempt kept", () =>
      Effect.gen(function*() {
        yield* reset
        const runs: Array<number> = []
        yield* handlers(AlwaysFails.toLayer(() =>
          Effect.flatMap(CurrentJob.CurrentJob, (job) =>
            Effect.zipRight(
              Effect.sync(() => runs.push(job.attempt)),
              Effect.fail(new Declined({ reason: `attempt ${job.attempt}`, cents: job.attempt }))
            ))
        ))
        yield* startWorker()
        const start = yield* Clock.currentTimeMillis
        const handle = yield* AlwaysFails.enqueue({})
        for (const [n, delay] of [[1, 1000], [2, 2000], [3, 4000]] as const) {
          yield* eventually(Effect.map(historyLength(handle), (length) => length === n), { what: `attempt ${n} recorded` })
          const info = yield* infoOf(handle)
          const failedAt = ms(info.attemptHistory[n - 1].finishedAt)
          // The clock stood still since the attempt was dispatched.
          assert.strictEqual(failedAt, yield* Clock.currentTimeMillis)
          assert.deepStrictEqual(info.nextRetryAt, Option.some(new Date(failedAt + delay)))
          assert.strictEqual(yield* handle.status, "retrying")
          // Not due a millisecond early; due on time.
          yield* TestClock.adjust(delay - 1)
          assert.strictEqual(yield* dispatchDue, 0)
          yield* TestClock.adjust(1)
          assert.strictEqual(yield* dispatchDue, 1)
        }
        yield* eventually(statusIs(handle, "failed"), { what: "the job failed for good" })
        assert.deepStrictEqual(runs, [1, 2, 3, 4])
        const info = yield* infoOf(handle)
        assert.isTrue(Option.isNone(info.nextRetryAt))
        assert.deepStrictEqual(info.maxAttempts, Option.some(4))
        const times = [0, 1000, 3000, 7000].map((t) => new Date(start + t))
        assert.deepStrictEqual(info.attemptHistory.map((a) => a.attempt), [1, 2, 3, 4])
        assert.deepStrictEqual(info.attemptHistory.map((a) => a.finishedAt), times)
        assert.deepStrictEqual(info.attemptHistory.map((a) => a.startedAt), times.map(Option.some))
        assert.isTrue(info.attemptHistory.every((a) => Option.isSome(a.processId)))
        assert.deepStrictEqual(
          info.attemptHistory.map((a) => [a.error.tag, JSON.parse(a.error.value ?? "null")]),
          [1, 2, 3, 4].map((n) => ["Declined", { _tag: "Declined", reason: `attempt ${n}`, cents: n }])
        )
        const last = yield* Effect.flip(handle.await())
        assert.instanceOf(last, Declined)
        assert.strictEqual(last.cents, 4)
        assert.strictEqual(yield* count("steady_queue_scheduled_executions"), 0)
        assert.strictEqual(yield* count("steady_queue_failed_executions"), 1)
      }))

    it.scoped("`while` sees each failure (an undeclared one as JobFailedError) and stops the retries at the first it refuses", () =>
      Effect.gen(function*() {
        yield* reset
        seenByWhile.length = 0
        yield* handlers(Picky.toLayer(({ plan }) =>
          Effect.flatMap(CurrentJob.CurrentJob, (job): Effect.Effect<void, Transient | Declined> => {
            const step = plan[job.attempt - 1]
            return step === "transient"
              ? Effect.fail(new Transient({ attempt: job.attempt }))
              : step === "defect"
              ? Effect.die(new RangeError(`attempt ${job.attempt}`))
              : Effect.fail(new Declined({ reason: "permanent", cents: 0 }))
          })
        ))
        yield* startWorker()
        const refusedAtOnce = yield* Picky.enqueue({ plan: ["permanent", "transient"] })
        yield* eventually(statusIs(refusedAtOnce, "failed"), { what: "the first job failed" })
        assert.strictEqual(yield* historyLength(refusedAtOnce), 1)
        assert.deepStrictEqual(seenByWhile, ["Declined"])

        seenByWhile.length = 0
        const later = yield* Picky.enqueue({ plan: ["transient", "defect", "permanent", "transient"] })
        for (const n of [1, 2]) {
          yield* eventually(Effect.map(historyLength(later), (length) => length === n), { what: `attempt ${n} recorded` })
          assert.strictEqual(yield* later.status, "retrying")
          yield* TestClock.adjust("1 second")
          assert.strictEqual(yield* dispatchDue, 1)
        }
        yield* eventually(statusIs(later, "failed"), { what: "the second job failed" })
        assert.deepStrictEqual(seenByWhile, ["Transient", "JobFailedError/RangeError", "Declined"])
        const info = yield* infoOf(later)
        assert.deepStrictEqual(info.attemptHistory.map((a) => a.error.tag), ["Transient", "RangeError", "Declined"])
        assert.instanceOf(yield* Effect.flip(later.await()), Declined)
      }))

    it.scoped("a timeout interrupts the handler (its finalizers run), fails the attempt with JobTimeoutError and is retried", () =>
      Effect.gen(function*() {
        yield* reset
        const cleanups: Array<string> = []
        let runs = 0
        yield* handlers(Sleepy.toLayer(() =>
          Effect.scoped(Effect.gen(function*() {
            runs++
            yield* Effect.addFinalizer(() => Effect.sync(() => cleanups.push("finalizer")))
            yield* Effect.sleep("1 hour").pipe(Effect.ensuring(Effect.sync(() => cleanups.push("ensuring"))))
          }))
        ))
        const handle = yield* Sleepy.enqueue({})
        yield* startWorker()
        yield* Dispatcher.start({ pollingInterval: "100 millis" })
        const failure = yield* advanceUntil(Effect.flip(handle.await()), "250 millis")
        assert.instanceOf(failure, JobFailedError)
        assert.strictEqual(failure.tag, "JobTimeoutError")
        assert.include(failure.message, "1000 ms")
        assert.strictEqual(runs, 2)
        assert.deepStrictEqual(cleanups, ["ensuring", "finalizer", "ensuring", "finalizer"])
        const info = yield* infoOf(handle)
        assert.strictEqual(info.state, "failed")
        assert.deepStrictEqual(info.timeoutMs, Option.some(1000))
        assert.deepStrictEqual(info.attemptHistory.map((a) => a.error.tag), ["JobTimeoutError", "JobTimeoutError"])
        for (const attempt of info.attemptHistory) {
          const ran = ms(attempt.finishedAt) - ms(Option.getOrThrow(attempt.startedAt))
          assert.isAtLeast(ran, 1000)
          assert.isBelow(ran, 60_000)
        }
      }))

    it.scoped("a job not started within `expire` of its time fails with JobExpiredError, never runs and is not retried", () =>
      Effect.gen(function*() {
        yield* reset
        const ran: Array<string> = []
        yield* handlers(Perishable.toLayer(({ label }) => Effect.sync(() => ran.push(label))))
        const stale = yield* Perishable.enqueue({ label: "stale" })
        yield* TestClock.adjust("1 second")
        const justInTime = yield* Perishable.enqueue({ label: "just in time" })
        yield* TestClock.adjust("60 seconds")
        const fresh = yield* Perishable.enqueue({ label: "fresh" })
        yield* startWorker({ threads: 3 })
        const failure = yield* Effect.flip(stale.await())
        assert.instanceOf(failure, JobFailedError)
        assert.strictEqual(failure.tag, "JobExpiredError")
        yield* justInTime.await()
        yield* fresh.await()
        assert.deepStrictEqual([...ran].sort(), ["fresh", "just in time"])
        assert.strictEqual(yield* stale.status, "failed")
        const info = yield* infoOf(stale)
        assert.deepStrictEqual(info.attemptHistory.map((a) => a.error.tag), ["JobExpiredError"])
        assert.isTrue(Option.isNone(info.nextRetryAt))
        assert.strictEqual(yield* count("steady_queue_scheduled_executions"), 0)
      }))

    it.scoped("cancel: a ready and a scheduled job are removed at once and end cancelled; a job that ended is left alone", () =>
      Effect.gen(function*() {
        yield* reset
        const ran: Array<string> = []
        yield* handlers(Probe.toLayer(({ label }) => Effect.sync(() => ran.push(label))))
        const ready = yield* Probe.enqueue({ label: "ready" })
        const later = yield* Probe.enqueue({ label: "later" }, { delay: "1 hour" })
        assert.deepStrictEqual([yield* ready.status, yield* later.status], ["ready", "scheduled"])

        assert.isTrue(yield* ready.cancel())
        assert.strictEqual(yield* ready.status, "cancelled")
        assert.strictEqual(yield* count("steady_queue_ready_executions"), 0)
        assert.isTrue(yield* later.cancel())
        assert.strictEqual(yield* later.status, "cancelled")
        assert.strictEqual(yield* count("steady_queue_scheduled_executions"), 0)

        for (const h of [ready, later]) {
          const error = yield* Effect.flip(h.await())
          assert.instanceOf(error, JobCancelledError)
          assert.strictEqual(error.jobId, h.id)
          assert.isTrue(Option.isSome((yield* infoOf(h)).finishedAt))
          // Cancelling again changes nothing, and says the job did end cancelled.
          assert.isTrue(yield* h.cancel())
          assert.strictEqual(yield* h.status, "cancelled")
          assert.strictEqual(yield* Admin.cancel(h.id), "ended")
        }

        const done = yield* Probe.enqueue({ label: "done" })
        yield* startWorker()
        yield* done.await()
        assert.isFalse(yield* done.cancel())
        assert.strictEqual(yield* done.status, "succeeded")
        assert.strictEqual(yield* Admin.cancel(done.id), "ended")
        assert.deepStrictEqual(ran, ["done"])

        assert.isFalse(yield* (yield* Probe.handle(2_000_000_000)).cancel())
        assert.instanceOf(yield* Effect.flip(Admin.cancel(2_000_000_000)), JobNotFoundError)
      }))

    it.scoped("cancel: a limited ready job gives its slot to the next blocked one; a blocked job and one waiting for its retry end cancelled at once", () =>
      Effect.gen(function*() {
        yield* reset
        const [holder, blocked, next] = yield* JobClient.enqueueAll([0, 1, 2].map((n) => Exclusive.job({ n })))
        assert.deepStrictEqual([yield* holder.status, yield* blocked.status, yield* next.status], ["ready", "blocked", "blocked"])
        assert.isTrue(yield* blocked.cancel())
        assert.deepStrictEqual([yield* blocked.status, yield* next.status], ["cancelled", "blocked"])
        assert.isTrue(yield* holder.cancel())
        assert.deepStrictEqual([yield* holder.status, yield* next.status], ["cancelled", "ready"])

        yield* handlers(AlwaysFails.toLayer(() => Effect.fail(new Declined({ reason: "no", cents: 0 }))))
        yield* startWorker()
        const retrying = yield* AlwaysFails.enqueue({})
        yield* eventually(statusIs(retrying, "retrying"), { what: "the first attempt failed" })
        assert.isTrue(yield* retrying.cancel())
        assert.strictEqual(yield* retrying.status, "cancelled")
        assert.instanceOf(yield* Effect.flip(retrying.await()), JobCancelledError)
        assert.strictEqual(yield* historyLength(retrying), 1)
        assert.strictEqual(yield* count("steady_queue_scheduled_executions"), 0)
      }))

    it.scoped("a result that does not encode with the success schema fails the job with ResultEncodeError, not retried", () =>
      Effect.gen(function*() {
        yield* reset
        yield* handlers(Halve.toLayer(({ n }) => Effect.succeed(n / 2)))
        const [whole, fraction] = yield* JobClient.enqueueAll([Halve.job({ n: 4 }), Halve.job({ n: 3 })])
        yield* startWorker({ threads: 2 })
        assert.strictEqual(yield* whole.await(), 2)
        const failure = yield* Effect.flip(fraction.await())
        assert.instanceOf(failure, JobFailedError)
        assert.strictEqual(failure.tag, "ResultEncodeError")
        assert.strictEqual(yield* fraction.status, "failed")
        assert.strictEqual(yield* historyLength(fraction), 1)
      }))

    it.scoped("cancel of a running job: its finalizer runs, it ends cancelled, is never retried, and gives its slot to the next job of its key", () =>
      Effect.gen(function*() {
        yield* reset
        const started = yield* Deferred.make<void>()
        const cleanups: Array<number> = []
        const ran: Array<number> = []
        yield* handlers(Exclusive.toLayer(({ n }) =>
          Effect.sync(() => ran.push(n)).pipe(
            Effect.zipRight(
              n === 0
                ? Effect.scoped(Effect.gen(function*() {
                  yield* Effect.addFinalizer(() => Effect.sync(() => cleanups.push(n)))
                  yield* Deferred.succeed(started, undefined)
                  return yield* Effect.never
                }))
                : Effect.void
            )
          )
        ))
        const [first, second] = yield* JobClient.enqueueAll([Exclusive.job({ n: 0 }), Exclusive.job({ n: 1 })])
        yield* startWorker({ threads: 2 })
        yield* Dispatcher.start({ pollingInterval: "100 millis" })
        yield* Deferred.await(started)
        assert.deepStrictEqual([yield* first.status, yield* second.status], ["running", "blocked"])

        assert.isTrue(yield* first.cancel())
        assert.deepStrictEqual(cleanups, [0])
        assert.strictEqual(yield* first.status, "cancelled")
        assert.instanceOf(yield* Effect.flip(first.await()), JobCancelledError)
        // The slot came back: the blocked job of the same key runs.
        yield* advanceUntil(second.await(), "100 millis")
        assert.deepStrictEqual(ran, [0, 1])
        assert.strictEqual(yield* first.status, "cancelled")
        const info = yield* infoOf(first)
        assert.deepStrictEqual(info.attemptHistory.map((a) => a.error.tag), ["JobCancelledError"])
        assert.isTrue(Option.isNone(info.nextRetryAt))
        for (const table of ["scheduled", "ready", "blocked", "claimed", "failed"]) {
          assert.strictEqual(yield* count(`steady_queue_${table}_executions`), 0, table)
        }
      }))

    it.scoped("a cancel arriving as the job finishes: exactly one outcome, agreed on by cancel, status and await; no claim left", () =>
      Effect.gen(function*() {
        yield* reset
        const started = yield* Queue.unbounded<void>()
        const gates = new Map<number, Deferred.Deferred<void>>()
        let runs = 0
        yield* handlers(Quick.toLayer(({ round }) =>
          Effect.gen(function*() {
            runs++
            yield* Queue.offer(started, undefined)
            yield* Deferred.await(gates.get(round)!)
            return round
          })
        ))
        yield* startWorker()
        const rounds = 10
        for (let round = 0; round < rounds; round++) {
          const gate = yield* Deferred.make<void>()
          gates.set(round, gate)
          const handle = yield* Quick.enqueue({ round })
          yield* Queue.take(started)
          // The handler is let go from 0 to 36 ms (real time) after the cancel is sent, to land on the steps of the
          // cancel's way: its write, its notice, the worker's check, the interruption.
          const cancelling = yield* Effect.fork(handle.cancel())
          yield* TestServices.provideLive(Effect.sleep(Duration.millis(round * 4)))
          yield* Deferred.succeed(gate, undefined)
          const cancelled = yield* Fiber.join(cancelling)
          const status = yield* handle.status
          const result = yield* Effect.either(handle.await())
          if (status === "succeeded") {
            assert.isFalse(cancelled, `round ${round}`)
            assert.deepStrictEqual(result, Either.right(round), `round ${round}`)
          } else {
            assert.strictEqual(status, "cancelled", `round ${round}`)
            assert.isTrue(cancelled, `round ${round}`)
            assert.isTrue(Either.isLeft(result) && result.left instanceof JobCancelledError, `round ${round}`)
          }
          assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0, `round ${round}`)
          assert.strictEqual(yield* count("steady_queue_scheduled_executions"), 0, `round ${round}`)
        }
        // Each job ran once: a cancelled one is never retried.
        assert.strictEqual(runs, rounds)
      }))

    it.scoped("enqueueAll returns a handle per request, in order, each typed by its own task", () =>
      Effect.gen(function*() {
        yield* reset
        yield* handlers(Layer.merge(
          Double.toLayer(({ n }) => Effect.succeed({ doubled: n * 2 })),
          Greet.toLayer(({ name }) => Effect.succeed(`hello ${name}`))
        ))
        const [a, b, c] = yield* JobClient.enqueueAll([Double.job({ n: 1 }), Greet.job({ name: "Ada" }), Double.job({ n: 5 })])
        assert.deepStrictEqual([a.taskName, b.taskName, c.taskName], ["HandlesDouble", "HandlesGreet", "HandlesDouble"])
        assert.isTrue(a.id < b.id && b.id < c.id)
        yield* startWorker({ threads: 3 })
        // The annotations are the check: each handle's result has its own task's type.
        const doubled: { readonly doubled: number } = yield* a.await()
        const greeting: string = yield* b.await()
        const five: { readonly doubled: number } = yield* c.await()
        assert.deepStrictEqual([doubled, greeting, five], [{ doubled: 2 }, "hello Ada", { doubled: 10 }])
      }))

    it.scoped("the configuration's default retry applies to tasks without a policy of their own", () =>
      Effect.gen(function*() {
        yield* reset
        const attempts: Array<string> = []
        yield* handlers(Layer.merge(
          Probe.toLayer(({ label }) =>
            Effect.flatMap(CurrentJob.CurrentJob, (job) =>
              Effect.zipRight(
                Effect.sync(() => attempts.push(`${label}:${job.attempt}`)),
                job.attempt === 1 ? Effect.fail(new Undeclared({ message: "first try" })) : Effect.void
              ))
          ),
          Once.toLayer(() => Effect.fail(new Undeclared({ message: "once" })))
        ))
        const config = Schema.decodeSync(QueueConfig.QueueConfigSchema)({ retry: { maxAttempts: 2, initialDelay: "1 second" } })
        const flaky = yield* Probe.enqueue({ label: "flaky" })
        const once = yield* Once.enqueue({})
        yield* startWorker({ threads: 2, retry: QueueConfig.retryPolicy(config) })
        yield* eventually(Effect.map(historyLength(flaky), (length) => length === 1), { what: "the first attempt recorded" })
        const info = yield* infoOf(flaky)
        assert.strictEqual(yield* flaky.status, "retrying")
        assert.deepStrictEqual(info.nextRetryAt, Option.some(new Date(ms(info.attemptHistory[0].finishedAt) + 1000)))
        // Its own policy wins over the default.
        const onceFailure = yield* Effect.flip(once.await())
        assert.instanceOf(onceFailure, JobFailedError)
        assert.strictEqual(onceFailure.message, "once")
        assert.strictEqual(yield* historyLength(once), 1)

        yield* Dispatcher.start({ pollingInterval: "100 millis" })
        yield* advanceUntil(flaky.await(), "100 millis")
        assert.deepStrictEqual(attempts, ["flaky:1", "flaky:2"])
        assert.strictEqual(yield* flaky.status, "succeeded")
        assert.deepStrictEqual((yield* infoOf(flaky)).attemptHistory.map((a) => a.error.message), ["first try"])
      }))
  })
