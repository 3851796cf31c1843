import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Either, FiberRef, HashSet, Logger, Option, Schema } from "effect"
import { Admin, CurrentJob, JobClient, Task } from "../../src/index.js"
import { type DialectName, reset, suiteLayer } from "../support/databases.js"
import { awaitFinished, count, handlers, Probe, probeHandler, startWorker, subscribe } from "../support/harness.js"

class ChargeDeclined extends Schema.TaggedError<ChargeDeclined>()("ChargeDeclined", { message: Schema.String }) {}

const Charge = Task.make("Charge", { payload: Schema.Struct({ cents: Schema.Number }) })
/** The same task name with a newer schema that old payloads no longer satisfy. */
const ChargeV2 = Task.make("Charge", { payload: Schema.Struct({ amount: Schema.BigInt }) })
const Orphan = Task.make("NobodyHandlesThis", { payload: Schema.Struct({}) })

interface LogLine {
  readonly level: string
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
}

/** Adds a logger that collects every line logged in the current scope, the worker's fibers included. */
const collectLogs = Effect.gen(function*() {
  const lines: Array<LogLine> = []
  const collector = Logger.make(({ annotations, logLevel, message }) => {
    const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
    lines.push({ level: logLevel.label, message: text, annotations: Object.fromEntries(annotations) })
  })
  yield* Effect.locallyScopedWith(FiberRef.currentLoggers, HashSet.add(collector))
  return lines
})

const stateOf = (id: number) => Effect.map(JobClient.find(id), Option.map((j) => j.state))
const errorOf = (id: number) =>
  Effect.map(JobClient.find(id), (job) => Option.getOrThrow(Option.flatMap(job, (j) => j.error)))

export const failuresSuite = (dialect: DialectName) =>
  layer(suiteLayer(dialect), { timeout: "60 seconds" })("failures", (it) => {
    it.scoped("a handler's typed failure, a defect, a thrown exception and a self-interruption each fail the job", () =>
      Effect.gen(function*() {
        yield* reset
        yield* handlers(Charge.toLayer(({ cents }) =>
          cents === 1
            ? Effect.fail(new ChargeDeclined({ message: "card declined" }))
            : cents === 2
            ? Effect.die(new RangeError("cents out of range"))
            : cents === 4
            ? Effect.interrupt
            : Effect.sync(() => {
              throw new TypeError("boom in sync code")
            })
        ))
        const sub = yield* subscribe
        const [typed, defect, thrown, interrupted] = yield* JobClient.enqueueAll([1, 2, 3, 4].map((cents) => Charge.job({ cents })))
        yield* startWorker({ threads: 4 })
        const finished = yield* awaitFinished(sub, 4)
        assert.isTrue(finished.every((e) => e.outcome === "failed"))
        const e1 = yield* errorOf(typed.id)
        assert.strictEqual(e1.tag, "ChargeDeclined")
        assert.strictEqual(e1.message, "card declined")
        assert.include(e1.stack ?? "", "ChargeDeclined")
        const e2 = yield* errorOf(defect.id)
        assert.strictEqual(e2.tag, "RangeError")
        assert.strictEqual(e2.message, "cents out of range")
        assert.include(e2.stack ?? "", "failures.ts")
        const e3 = yield* errorOf(thrown.id)
        assert.strictEqual(e3.tag, "TypeError")
        assert.strictEqual(e3.message, "boom in sync code")
        assert.isDefined(yield* errorOf(interrupted.id))
        // The failure remembers the worker's process.
        const failedOn = Option.flatMap(yield* JobClient.find(typed.id), (j) => j.processId)
        assert.isTrue(Option.isSome(failedOn))
        assert.strictEqual(yield* count("steady_queue_processes", `id = ${Option.getOrThrow(failedOn)}`), 1)
        assert.strictEqual(yield* count("steady_queue_failed_executions"), 4)
        assert.strictEqual(yield* count("steady_queue_claimed_executions"), 0)
      }))

    it.scoped("an unknown task name and a payload that no longer decodes fail with their own typed errors", () =>
      Effect.gen(function*() {
        yield* reset
        yield* handlers(ChargeV2.toLayer(() => Effect.void))
        const sub = yield* subscribe
        const old = yield* Charge.enqueue({ cents: 5 })
        const orphan = yield* Orphan.enqueue({})
        yield* startWorker({ threads: 2 })
        yield* awaitFinished(sub, 2)
        const decodeError = yield* errorOf(old.id)
        assert.strictEqual(decodeError.tag, "PayloadDecodeError")
        assert.include(decodeError.message, "amount")
        const unknown = yield* errorOf(orphan.id)
        assert.strictEqual(unknown.tag, "UnknownTaskError")
        assert.include(unknown.message, "NobodyHandlesThis")
      }))

    it.scoped("a handler's log lines carry the job's id, task, queue and attempt; a failed job logs one WARN line", () =>
      Effect.gen(function*() {
        yield* reset
        let declining = true
        yield* handlers(Charge.toLayer(({ cents }) =>
          Effect.log(`charging ${cents}`).pipe(
            Effect.zipRight(cents === 1 && declining ? Effect.fail(new ChargeDeclined({ message: "card declined" })) : Effect.void)
          )
        ))
        const lines = yield* collectLogs
        const sub = yield* subscribe
        const [ok, declined] = yield* JobClient.enqueueAll([0, 1].map((cents) => Charge.job({ cents }, { queue: "billing" })))
        yield* startWorker({ threads: 2 })
        yield* awaitFinished(sub, 2)

        const handlerLine = (text: string) => lines.filter((l) => l.message === text)
        assert.deepStrictEqual(handlerLine("charging 0").map((l) => l.annotations), [
          { jobId: ok.id, task: "Charge", queue: "billing", attempt: 1 }
        ])
        assert.deepStrictEqual(handlerLine("charging 1").map((l) => l.annotations), [
          { jobId: declined.id, task: "Charge", queue: "billing", attempt: 1 }
        ])
        const warnings = lines.filter((l) => l.level === "WARN")
        assert.strictEqual(warnings.length, 1)
        const [warning] = warnings
        assert.include(warning.message, "Charge")
        assert.include(warning.message, `${declined.id}`)
        assert.include(warning.message, "ChargeDeclined")
        assert.include(warning.message, "card declined")
        assert.strictEqual(warning.annotations.jobId, declined.id)
        // A success logs nothing of its own.
        const ownLines = lines.filter((l) => l.annotations.jobId === ok.id)
        assert.deepStrictEqual(ownLines.map((l) => l.message), ["charging 0"])

        // The retried job's lines carry its second attempt.
        declining = false
        yield* JobClient.retry(declined.id)
        yield* awaitFinished(sub, 1)
        assert.deepStrictEqual(handlerLine("charging 1").map((l) => l.annotations.attempt), [1, 2])
        assert.strictEqual(lines.filter((l) => l.level === "WARN").length, 1)
      }))

    it.scoped("retry one, many and all failed jobs: back to ready, run again, attempts counted", () =>
      Effect.gen(function*() {
        yield* reset
        let failing = true
        const attempts: Array<number> = []
        const runs: Array<number> = []
        yield* handlers(Probe.toLayer(() =>
          Effect.gen(function*() {
            const current = yield* CurrentJob.CurrentJob
            attempts.push(current.attempts)
            runs.push(current.attempt)
            if (failing) return yield* Effect.fail("not yet")
          })
        ))
        const sub = yield* subscribe
        const jobs = yield* JobClient.enqueueAll(Array.from({ length: 6 }, (_, i) => Probe.job({ label: `${i}` })))
        const ids = jobs.map((j) => j.id)
        yield* startWorker({ threads: 3 })
        yield* awaitFinished(sub, 6)
        assert.strictEqual(yield* count("steady_queue_failed_executions"), 6)
        const failed = yield* Admin.failedJobs({ limit: 4 })
        assert.deepStrictEqual(failed.map((j) => j.id), ids.slice(0, 4))
        const next = yield* Admin.failedJobs({ limit: 4, afterId: ids[3] })
        assert.deepStrictEqual(next.map((j) => j.id), ids.slice(4))

        failing = false
        yield* Admin.retry(ids[0])
        yield* awaitFinished(sub, 1)
        assert.deepStrictEqual(yield* stateOf(ids[0]), Option.some("finished" as const))
        assert.strictEqual(yield* Admin.retryMany([ids[1], ids[2], ids[0]]), 2)
        yield* awaitFinished(sub, 2)
        assert.strictEqual(yield* Admin.retryAllFailed, 3)
        yield* awaitFinished(sub, 3)
        assert.strictEqual(yield* count("steady_queue_failed_executions"), 0)
        assert.strictEqual(yield* count("steady_queue_jobs", "finished_at IS NOT NULL AND attempts = 1"), 6)
        assert.deepStrictEqual(attempts.filter((a) => a === 1).length, 6)
        // `attempt` counts runs: 1 on the first, 2 on the run after one retry.
        assert.deepStrictEqual([...runs].sort(), [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2])

        const notFailed = yield* Effect.flip(Admin.retry(ids[0]))
        assert.strictEqual(notFailed._tag, "JobNotFailedError")
        const missing = yield* Effect.flip(Admin.retry(999_999))
        assert.strictEqual(missing._tag, "JobNotFoundError")
      }))

    it.scoped("discard one, many and all failed jobs; a job in progress cannot be discarded", () =>
      Effect.gen(function*() {
        yield* reset
        const gate = yield* Deferred.make<void>()
        const ran: Array<string> = []
        yield* handlers(probeHandler(ran, (label) => label === "busy" ? Deferred.await(gate) : Effect.fail("nope")))
        const sub = yield* subscribe
        const jobs = yield* JobClient.enqueueAll(Array.from({ length: 5 }, (_, i) => Probe.job({ label: `${i}` })))
        const ids = jobs.map((j) => j.id)
        yield* startWorker({ threads: 2 })
        yield* awaitFinished(sub, 5)

        yield* Admin.discard(ids[0])
        assert.isTrue(Option.isNone(yield* JobClient.find(ids[0])))
        assert.strictEqual(yield* Admin.discardMany([ids[1], ids[2]]), 2)
        assert.strictEqual(yield* Admin.discardAllFailed, 2)
        assert.strictEqual(yield* count("steady_queue_jobs"), 0)
        assert.strictEqual((yield* Effect.flip(Admin.discard(ids[0])))._tag, "JobNotFoundError")

        const busy = yield* Probe.enqueue({ label: "busy" })
        const waiting = yield* Probe.enqueue({ label: "waiting" }, { delay: "1 hour" })
        while (!ran.includes("busy")) yield* Effect.yieldNow()
        assert.strictEqual((yield* Effect.flip(Admin.discard(busy.id)))._tag, "JobInProgressError")
        const many = yield* Effect.either(Admin.discardMany([waiting.id, busy.id]))
        assert.isTrue(Either.isLeft(many) && many.left._tag === "JobInProgressError")
        assert.deepStrictEqual(yield* stateOf(waiting.id), Option.some("scheduled" as const))
        // Scheduled and ready jobs can be discarded.
        yield* Admin.discard(waiting.id)
        yield* Deferred.succeed(gate, undefined)
        yield* awaitFinished(sub, 1)
        assert.deepStrictEqual(yield* stateOf(busy.id), Option.some("finished" as const))
      }))

    it.scoped("the deprecated operator accessors of JobClient still work, through Admin", () =>
      Effect.gen(function*() {
        yield* reset
        yield* handlers(probeHandler([], () => Effect.fail("nope")))
        const sub = yield* subscribe
        const jobs = yield* JobClient.enqueueAll(Array.from({ length: 3 }, (_, i) => Probe.job({ label: `${i}` })))
        const ids = jobs.map((j) => j.id)
        yield* startWorker({ threads: 3 })
        yield* awaitFinished(sub, 3)
        assert.deepStrictEqual((yield* JobClient.failedJobs()).map((j) => j.id), ids)
        assert.strictEqual((yield* Effect.flip(JobClient.retry(999_999)))._tag, "JobNotFoundError")
        assert.strictEqual(yield* JobClient.discardMany([ids[0]]), 1)
        assert.strictEqual(yield* JobClient.discardAllFailed, 2)
        yield* JobClient.pause("deprecated")
        assert.deepStrictEqual(yield* JobClient.pausedQueues, ["deprecated"])
        assert.strictEqual((yield* Effect.flip(JobClient.pause("a\u0000b")))._tag, "InvalidQueueNameError")
        yield* JobClient.resume("deprecated")
        assert.deepStrictEqual(yield* JobClient.pausedQueues, [])
        assert.strictEqual(yield* JobClient.clearFinishedJobs(), 0)
      }))
  })
