/**
 * Job handles, end to end, on an embedded in-memory SQLite queue with a worker and a dispatcher in this process:
 * typed results and errors, retries, a timeout, cancellation (of a waiting job and of a running one), expiry,
 * handles rebuilt from an id, and awaits that give up. It prints what happens and exits when done.
 *
 *   npx tsx examples/handles.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { BigDecimal, Console, Effect, Layer, Logger, Option, Schedule, Schema } from "effect"
import { Admin, CurrentJob, Dispatcher, JobClient, type JobHandle, Task, Worker } from "steady-queue"
import * as Sqlite from "steady-queue/sqlite"

// --- Tasks -------------------------------------------------------------------------------------------------

class QuoteUnavailable extends Schema.TaggedError<QuoteUnavailable>()("QuoteUnavailable", {
  symbol: Schema.String,
  message: Schema.String
}) {}

/** A result and a declared error, both stored with the job and decoded by `await` in any process. */
const FetchQuote = Task.make("FetchQuote", {
  payload: Schema.Struct({ symbol: Schema.String }),
  success: Schema.Struct({ symbol: Schema.String, price: Schema.BigDecimal, at: Schema.Date }),
  error: QuoteUnavailable
})

/** Retried: three runs in all, 100 ms then 200 ms apart, and only for the error worth retrying. */
class Flaky extends Schema.TaggedError<Flaky>()("Flaky", { message: Schema.String }) {}
const SyncAccount = Task.make("SyncAccount", {
  payload: Schema.Struct({ accountId: Schema.Number }),
  success: Schema.Number,
  error: Flaky,
  retry: {
    maxAttempts: 3,
    schedule: Schedule.exponential("100 millis"),
    while: (error) => error._tag === "Flaky"
  }
})

/** Interrupted after a second; its finalizers run and the attempt fails with `JobTimeoutError`. */
const RenderVideo = Task.make("RenderVideo", {
  payload: Schema.Struct({ videoId: Schema.Number }),
  timeout: "1 second"
})

/** Not worth running once it is late: not started within 200 ms of its time, it fails with `JobExpiredError`. */
const SendOtp = Task.make("SendOtp", {
  payload: Schema.Struct({ phone: Schema.String }),
  queue: "otp",
  expire: "200 millis"
})

// --- Handlers ----------------------------------------------------------------------------------------------

const Handlers = Layer.mergeAll(
  FetchQuote.toLayer(({ symbol }) =>
    symbol === "XXXX"
      ? Effect.fail(new QuoteUnavailable({ symbol, message: `no quote for ${symbol}` }))
      : Effect.succeed({ symbol, price: BigDecimal.unsafeFromString("101.25"), at: new Date() })
  ),
  SyncAccount.toLayer(({ accountId }) =>
    Effect.gen(function*() {
      const job = yield* CurrentJob.CurrentJob
      // The first two attempts fail; the third succeeds.
      if (job.attempt < 3) return yield* new Flaky({ message: `attempt ${job.attempt}: upstream busy` })
      return accountId * 10
    })
  ),
  RenderVideo.toLayer(({ videoId }) =>
    Effect.acquireRelease(
      Console.log(`    render ${videoId}: started`),
      () => Console.log(`    render ${videoId}: finalizer ran (temporary files removed)`)
    ).pipe(Effect.zipRight(Effect.never), Effect.scoped)
  ),
  SendOtp.toLayer(({ phone }) => Console.log(`    sent a code to ${phone}`))
)

// The queue's own log lines (a failed attempt, a cancelled handler), one short line each.
const ShortLogs = Logger.replace(
  Logger.defaultLogger,
  Logger.make(({ logLevel, message }) => {
    const text = Array.isArray(message) ? message.join(" ") : String(message)
    globalThis.console.log(`    [${logLevel.label}] ${text.replace(/^steady-queue: /, "")}`)
  })
)

// --- The program -------------------------------------------------------------------------------------------

const section = (title: string) => Console.log(`\n${title}`)

/** Reads a job's status every 10 ms until `done` accepts it (for 5 seconds at most). */
const statusWhen = (handle: JobHandle.JobHandle<unknown, unknown>, done: (status: JobHandle.JobStatus) => boolean) =>
  handle.status.pipe(Effect.zipLeft(Effect.sleep("10 millis")), Effect.repeat({ until: done }), Effect.timeout("5 seconds"))

const program = Effect.gen(function*() {
  // A worker and a dispatcher in this scope; a Supervisor (see the README) is the usual way to run them.
  yield* Worker.start({ queues: ["*"], threads: 4, pollingInterval: "50 millis" })
  // Retried jobs wait in scheduled: the dispatcher moves them to ready when they are due.
  yield* Dispatcher.start({ pollingInterval: "50 millis" })

  yield* section("1. A typed result, and a declared error decoded as itself")
  const quote = yield* FetchQuote.enqueue({ symbol: "ACME" })
  const value = yield* quote.await({ timeout: "5 seconds" })
  yield* Console.log(`  job ${quote.id}: ${value.symbol} at ${BigDecimal.format(value.price)} on ${value.at.toISOString()} (a BigDecimal and a Date)`)
  const missing = yield* FetchQuote.enqueue({ symbol: "XXXX" })
  yield* missing.await({ timeout: "5 seconds" }).pipe(
    Effect.catchTag("QuoteUnavailable", (e) => Console.log(`  job ${missing.id}: QuoteUnavailable for ${e.symbol}: ${e.message}`)),
    Effect.catchAll((e) => Console.log(`  unexpected: ${e._tag}`))
  )

  yield* section("2. Bulk enqueue returns typed handles, in order")
  const [a, b] = yield* JobClient.enqueueAll([FetchQuote.job({ symbol: "AAA" }), FetchQuote.job({ symbol: "BBB" })])
  const both = yield* Effect.all([a.await(), b.await()])
  yield* Console.log(`  ${both.map((q) => `${q.symbol} ${BigDecimal.format(q.price)}`).join(", ")}`)

  yield* section("3. Retries: failed attempts go back to scheduled; the attempts are kept")
  const sync = yield* SyncAccount.enqueue({ accountId: 7 })
  const between = yield* statusWhen(sync, (s) => s === "retrying" || s === "succeeded" || s === "failed")
  const next = Option.flatMap(yield* sync.info, (i) => i.nextRetryAt)
  yield* Console.log(`  job ${sync.id}: status ${between}${Option.match(next, { onNone: () => "", onSome: (at) => `, next attempt at ${at.toISOString()}` })}`)
  const synced = yield* sync.await({ timeout: "10 seconds" })
  const info = yield* sync.info
  yield* Console.log(`  job ${sync.id}: result ${synced}, status ${yield* sync.status}`)
  for (const attempt of Option.match(info, { onNone: () => [], onSome: (i) => i.attemptHistory })) {
    const took = Option.match(attempt.startedAt, { onNone: () => "?", onSome: (s) => `${attempt.finishedAt.getTime() - s.getTime()} ms` })
    yield* Console.log(`    attempt ${attempt.attempt}: ${attempt.error.tag}: ${attempt.error.message} (ran ${took})`)
  }

  yield* section("4. A timeout interrupts the handler; undeclared failures come back as JobFailedError")
  const render = yield* RenderVideo.enqueue({ videoId: 1 })
  yield* render.await({ timeout: "5 seconds" }).pipe(
    Effect.catchTag("JobFailedError", (e) => Console.log(`  job ${render.id}: JobFailedError, tag ${e.tag}: ${e.message}`)),
    Effect.catchAll((e) => Console.log(`  unexpected: ${e._tag}`))
  )

  yield* section("5. Cancelling: a waiting job at once, a running one through its worker")
  const later = yield* FetchQuote.enqueue({ symbol: "LATER" }, { delay: "1 hour" })
  yield* Console.log(`  waiting job ${later.id}: cancel -> ${yield* later.cancel()}, status ${yield* later.status}`)
  const long = yield* RenderVideo.enqueue({ videoId: 2 }, { queue: "long" })
  yield* statusWhen(long, (s) => s === "running")
  const started = Date.now()
  const cancelled = yield* long.cancel({ wait: "5 seconds" })
  yield* Console.log(`  running job ${long.id}: cancel -> ${cancelled} after ${Date.now() - started} ms, status ${yield* long.status}`)
  yield* long.await().pipe(
    Effect.catchTag("JobCancelledError", (e) => Console.log(`  await: JobCancelledError: ${e.message}`)),
    Effect.catchAll((e) => Console.log(`  unexpected: ${e._tag}`))
  )

  yield* section("6. Expiry: a job not started in time is not run")
  yield* Admin.pause("otp")
  const otp = yield* SendOtp.enqueue({ phone: "+34 600 000 000" })
  yield* Effect.sleep("400 millis") // the queue is paused past the job's 200 ms
  yield* Admin.resume("otp")
  yield* otp.await({ timeout: "5 seconds" }).pipe(
    Effect.catchTag("JobFailedError", (e) => Console.log(`  job ${otp.id}: JobFailedError, tag ${e.tag}`)),
    Effect.catchAll((e) => Console.log(`  unexpected: ${e._tag}`))
  )

  yield* section("7. Handles from an id, and awaits that give up")
  const again = yield* FetchQuote.handle(quote.id) // e.g. in another process, from an id kept in a table
  yield* Console.log(`  job ${again.id} rebuilt: status ${yield* again.status}, ${(yield* again.await()).symbol}`)
  const slow = yield* RenderVideo.enqueue({ videoId: 3 }, { delay: "1 hour" })
  yield* slow.await({ timeout: "100 millis" }).pipe(
    Effect.catchTag("JobAwaitTimeoutError", (e) => Console.log(`  job ${slow.id}: JobAwaitTimeoutError (${e.timeoutMs} ms); the job goes on`)),
    Effect.catchAll((e) => Console.log(`  unexpected: ${e._tag}`))
  )
  const nobody = yield* FetchQuote.handle(999_999)
  yield* Console.log(`  job 999999: status ${yield* nobody.status}`)
  yield* nobody.await().pipe(
    Effect.catchTag("JobNotFoundError", (e) => Console.log(`  await: JobNotFoundError: ${e.message}`)),
    Effect.catchAll((e) => Console.log(`  unexpected: ${e._tag}`))
  )
  yield* Console.log("\ndone")
})

program.pipe(
  Effect.scoped,
  Effect.provide(Handlers),
  Effect.provide(ShortLogs),
  Effect.provide(Sqlite.layer({ filename: ":memory:", migrate: true })),
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
