import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Schema } from "effect"
import type { JobRequest } from "../../src/JobClient.js"
import * as Task from "../../src/Task.js"
import { maxPriority, minPriority, prepareJobs } from "../../src/internal/prepare.js"

const now = Date.parse("2030-06-01T12:00:00Z")

const Mail = Task.make("Mail", { payload: Schema.Struct({ to: Schema.String }) })
const Limited = Task.make("Limited", {
  payload: Schema.Struct({ account: Schema.String }),
  queue: "accounts",
  priority: 5,
  concurrency: { key: (p) => p.account, limit: 2, duration: "10 seconds" }
})

const mail = (options?: Parameters<typeof Mail.job>[1]) => Mail.job({ to: "a@example.com" }, options)
/** Options of the wrong type, as JavaScript callers and decoded input can give them. */
const untyped = (options: object) => options as Parameters<typeof Mail.job>[1]

const prepareOne = (request: JobRequest) => Effect.map(prepareJobs([request], now), ([job]) => job)
const refusal = (request: JobRequest) =>
  Effect.map(Effect.flip(prepareJobs([request], now)), (e) => ({ tag: e._tag, option: "option" in e ? e.option : undefined, message: e.message }))

describe("preparing jobs", () => {
  it.effect("a job for now: its fields, the task's defaults, and no concurrency control", () =>
    Effect.gen(function*() {
      const job = yield* prepareOne(mail())
      assert.deepInclude(job, {
        queueName: "default",
        taskName: "Mail",
        arguments: "{\"to\":\"a@example.com\"}",
        priority: 0,
        scheduledAt: now,
        concurrencyKey: null,
        concurrencyLimit: null,
        concurrencyDurationMs: null
      })
      assert.match(job.publicId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    }))

  it.effect("enqueue options override the task's queue and priority; the concurrency key is the group and the payload's key", () =>
    Effect.gen(function*() {
      const job = yield* prepareOne(Limited.job({ account: "acme" }, { queue: "other", priority: -3 }))
      assert.deepInclude(job, {
        queueName: "other",
        priority: -3,
        concurrencyKey: "Limited/acme",
        concurrencyLimit: 2,
        concurrencyDurationMs: 10_000
      })
      const defaults = yield* prepareOne(Limited.job({ account: "acme" }))
      assert.deepInclude(defaults, { queueName: "accounts", priority: 5 })
    }))

  it.effect("every job gets a public id of its own; an empty batch is no jobs", () =>
    Effect.gen(function*() {
      const jobs = yield* prepareJobs(Array.from({ length: 50 }, () => mail()), now)
      assert.strictEqual(new Set(jobs.map((j) => j.publicId)).size, 50)
      assert.deepStrictEqual(yield* prepareJobs([], now), [])
    }))

  it.effect("a delay in any Duration form is added to now, rounded up to a whole millisecond", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<[Duration.DurationInput, number]> = [
        [1500, 1500],
        [0, 0],
        ["2 seconds", 2000],
        ["1.5 minutes", 90_000],
        [Duration.hours(1), 3_600_000],
        [[1, 500_000_000], 1500],
        [0.2, 1],
        [1_000_001n, 2],
        // A Duration made from a negative number has been clamped to zero by Effect already.
        [Duration.millis(-5), 0]
      ]
      for (const [delay, ms] of cases) {
        assert.strictEqual((yield* prepareOne(mail({ delay }))).scheduledAt, now + ms, String(delay))
      }
    }))

  it.effect("a negative, NaN, infinite or unreadable delay is refused, not taken as now", () =>
    Effect.gen(function*() {
      for (const delay of [-1, -0.5, Number.NaN, Number.POSITIVE_INFINITY, "-5 seconds", "  -1 millis", -5n, [-1, 0], [0, -1], "soon", "5 fortnights", Duration.infinity, {}]) {
        assert.deepStrictEqual(yield* refusal(mail(untyped({ delay }))), {
          tag: "InvalidJobOptionsError",
          option: "delay",
          message: "delay must be a finite, non-negative duration"
        }, String(delay))
      }
    }))

  it.effect("runAt is taken as it is, also in the past; it must be a valid Date", () =>
    Effect.gen(function*() {
      const later = new Date(now + 60_000)
      assert.strictEqual((yield* prepareOne(mail({ runAt: later }))).scheduledAt, later.getTime())
      const past = new Date(now - 86_400_000)
      assert.strictEqual((yield* prepareOne(mail({ runAt: past }))).scheduledAt, past.getTime())
      for (const runAt of [new Date(Number.NaN), "2030-01-01", Date.parse("2030-01-01"), null, {}]) {
        assert.deepStrictEqual(yield* refusal(mail(untyped({ runAt }))), {
          tag: "InvalidJobOptionsError",
          option: "runAt",
          message: "runAt must be a valid Date"
        }, String(runAt))
      }
    }))

  it.effect("delay and runAt together are refused, even when both are valid", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* refusal(mail({ delay: 0, runAt: new Date(now) })), {
        tag: "InvalidJobOptionsError",
        option: "delay",
        message: "give either delay or runAt, not both"
      })
    }))

  it.effect("priority is an integer from -100 to 100; the message says what it got", () =>
    Effect.gen(function*() {
      assert.strictEqual(minPriority, -100)
      assert.strictEqual(maxPriority, 100)
      for (const priority of [-100, -1, 0, 100]) assert.strictEqual((yield* prepareOne(mail({ priority }))).priority, priority)
      for (const priority of [101, -101, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "1"]) {
        assert.deepStrictEqual(yield* refusal(mail(untyped({ priority }))), {
          tag: "InvalidJobOptionsError",
          option: "priority",
          message: `priority must be an integer from -100 to 100, got ${priority}`
        }, String(priority))
      }
    }))

  it.effect("the task name and queue follow the name rule; errors name the task and the option", () =>
    Effect.gen(function*() {
      const badQueue = yield* Effect.flip(prepareJobs([mail({ queue: "a*" })], now))
      assert.deepInclude(badQueue, { _tag: "InvalidJobOptionsError", taskName: "Mail", option: "queue" })
      assert.strictEqual(badQueue.message, "queue name must not contain '*' (wildcards are for worker queue lists)")
      assert.deepStrictEqual(yield* refusal(mail(untyped({ queue: 42 }))), {
        tag: "InvalidJobOptionsError",
        option: "queue",
        message: "queue name must be a string, got number"
      })
      const unnamed = yield* Effect.flip(prepareJobs([{ ...mail(), taskName: 7 as unknown as string }], now))
      assert.deepInclude(unnamed, { option: "taskName", taskName: "7", message: "task name must be a string, got number" })
      assert.strictEqual((yield* refusal({ ...mail(), taskName: "" })).message, "task name must not be empty")
    }))

  it.effect("a concurrency key computed from the payload is checked at enqueue, shown (shortened) in the message", () =>
    Effect.gen(function*() {
      const bad = yield* refusal(Limited.job({ account: "a\u0000" + "x".repeat(100) }))
      assert.strictEqual(bad.option, "concurrency")
      assert.strictEqual(
        bad.message,
        `concurrency key must not contain control characters (such as NUL or newline): ${JSON.stringify(("Limited/a\u0000" + "x".repeat(100)).slice(0, 60))}`
      )
      // The stored key is "group/key": the group counts towards the 255 characters.
      assert.strictEqual((yield* prepareOne(Limited.job({ account: "k".repeat(247) }))).concurrencyKey?.length, 255)
      assert.match((yield* refusal(Limited.job({ account: "k".repeat(248) }))).message, /at most 255 characters, got 256/)
    }))

  it.effect("a concurrency limit below 1 or fractional, or a duration that is not positive and finite, is refused at enqueue", () =>
    Effect.gen(function*() {
      const limited = (concurrency: Partial<NonNullable<JobRequest["concurrency"]>>): JobRequest => {
        const request = Limited.job({ account: "acme" })
        return { ...request, concurrency: { ...request.concurrency!, ...concurrency } }
      }
      for (const limit of [0, -1, 1.5, Number.NaN]) {
        assert.deepStrictEqual(yield* refusal(limited({ limit })), {
          tag: "InvalidJobOptionsError",
          option: "concurrency",
          message: "the concurrency limit must be a whole number of at least 1"
        }, String(limit))
      }
      for (const durationMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        assert.deepStrictEqual(yield* refusal(limited({ durationMs })), {
          tag: "InvalidJobOptionsError",
          option: "concurrency",
          message: "the concurrency duration must be a positive, finite duration"
        }, String(durationMs))
      }
      // A task cannot even be defined with such a limit (`Task.make` throws InvalidTaskError where it is defined).
      assert.throws(() => Task.make("Zero", { payload: Schema.Struct({}), concurrency: { key: "k", limit: 0 } }), /concurrency limit/)
    }))

  it.effect("a payload its schema cannot encode is a PayloadEncodeError naming the task", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(prepareJobs([Mail.job({ to: 42 as unknown as string })], now))
      assert.strictEqual(error._tag, "PayloadEncodeError")
      assert.strictEqual(error.taskName, "Mail")
      assert.include(error.message, "to")
    }))

  it.effect("one bad request fails the whole batch with the first problem, so nothing is written", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(prepareJobs([mail(), mail({ priority: 1000 }), mail({ queue: "" })], now))
      assert.deepInclude(error, { _tag: "InvalidJobOptionsError", option: "priority" })
    }))
})
