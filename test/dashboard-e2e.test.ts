/**
 * The dashboard in a real browser: headless Chromium (Debian's, driven by playwright-core) clicks through a
 * standalone dashboard server on SQLite. Screenshots go to test-artifacts/dashboard/.
 */
import { layer } from "@effect/vitest"
import { Data, Effect, Layer, Option, Schedule, Schema, TestServices } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { chromium, type Page } from "playwright-core"
import { assert, describe } from "vitest"
import { Admin, CurrentJob, Dashboard, JobClient, Task } from "../src/index.js"
import { isAvailable, reset, suiteLayer } from "./support/databases.js"
import { handlers, Probe, startWorker } from "./support/harness.js"
import { failJob } from "./support/http.js"
import { freePort } from "./support/processes.js"

const executablePath = process.env.STEADY_QUEUE_CHROMIUM ?? "/usr/bin/chromium"
const hasChromium = fs.existsSync(executablePath)
if (!hasChromium) {
  const message = `Chromium not found at ${executablePath}: install it with \`apt-get install -y chromium\``
  if (process.env.CI) throw new Error(`${message} (CI runs the browser tests and does not skip them)`)
  console.warn(`\n*** SKIPPING the dashboard browser tests: ${message}. ***\n`)
}

const artifacts = path.resolve("test-artifacts/dashboard")

class RateLimited extends Data.TaggedError("RateLimited")<{ readonly message: string }> {}

/** Rate limited on its first `failures` attempts, then sends; retried at once, three runs at most. */
const SendInvoice = Task.make("SendInvoice", {
  payload: Schema.Struct({ invoice: Schema.Number, failures: Schema.Number }),
  success: Schema.Struct({ messageId: Schema.String, recipients: Schema.Array(Schema.String) }),
  retry: { maxAttempts: 3, schedule: Schedule.forever },
  timeout: "30 seconds",
  queue: "billing"
})

const browserPage = (baseUrl: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const browser = await chromium.launch({
        executablePath,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
      })
      const context = await browser.newContext({
        baseURL: baseUrl,
        httpCredentials: { username: "ops", password: "s3cret" },
        viewport: { width: 1280, height: 860 }
      })
      const page = await context.newPage()
      // Any script that runs (an injected payload would) opens a dialog or logs: both fail the test.
      const dialogs: Array<string> = []
      page.on("dialog", (d) => {
        dialogs.push(d.message())
        void d.dismiss()
      })
      return { browser, page, dialogs }
    }),
    ({ browser }) => Effect.promise(() => browser.close())
  )

const shot = (page: Page, name: string) =>
  Effect.promise(async () => {
    fs.mkdirSync(artifacts, { recursive: true })
    await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true })
  })

const ui = <A>(f: () => Promise<A>) => Effect.promise(f)

const sqliteReady = hasChromium && (await isAvailable("sqlite"))

describe.skipIf(!sqliteReady)("dashboard in Chromium", () => {
  layer(suiteLayer("sqlite"), { timeout: "120 seconds" })((it) => {
    it.scoped("an operator pauses a queue, retries a failed job and discards another by clicking", () =>
      Effect.gen(function*() {
        yield* reset
        const port = yield* Effect.promise(freePort)
        yield* Layer.build(Dashboard.serve({ port, auth: Dashboard.basicAuth({ username: "ops", password: "s3cret" }) }))

        yield* JobClient.enqueueAll(Array.from({ length: 3 }, (_, i) => Probe.job({ label: `welcome ${i}` }, { queue: "mail" })))
        yield* Probe.enqueue({ label: "invoice" }, { queue: "billing" })
        yield* Probe.enqueue({ label: "reminder" }, { delay: "2 hours" })
        const toRetry = yield* Probe.enqueue({ label: "charge card 42" }, { queue: "billing" })
        const toDiscard = yield* Probe.enqueue({ label: "<script>alert('xss')</script>" }, { queue: "billing" })
        yield* failJob(toRetry.id, {
          tag: "PaymentDeclined",
          message: "card declined",
          stack: "PaymentDeclined: card declined\n    at charge (billing.ts:42:7)"
        })
        yield* failJob(toDiscard.id, { tag: "Error", message: "<img src=x onerror=alert('xss')>" })

        const { dialogs, page } = yield* browserPage(`http://127.0.0.1:${port}`)

        yield* ui(() => page.goto("/"))
        assert.strictEqual(yield* ui(() => page.title()), "steady-queue")
        yield* shot(page, "01-queues")
        yield* ui(() => page.locator("tr[data-queue=mail] button", { hasText: "Pause" }).click())
        yield* ui(() => page.waitForSelector(".flash >> text=Paused queue mail"))
        assert.strictEqual(yield* ui(() => page.locator("tr[data-queue=mail] .badge").innerText()), "paused")
        assert.deepStrictEqual(yield* Admin.pausedQueues, ["mail"])
        yield* shot(page, "02-queue-paused")

        yield* ui(() => page.click("nav >> text=Jobs"))
        yield* ui(() => page.waitForSelector(`tr[data-job-id="${toRetry.id}"]`))
        yield* shot(page, "03-failed-jobs")
        yield* ui(() => page.locator(`tr[data-job-id="${toRetry.id}"] button`, { hasText: "Retry" }).click())
        yield* ui(() => page.waitForSelector(`.flash >> text=Retried job ${toRetry.id}`))
        assert.deepStrictEqual(Option.map(yield* JobClient.find(toRetry.id), (j) => j.state), Option.some("ready"))

        yield* ui(() => page.click(`a[href="/jobs/${toDiscard.id}"]`))
        yield* ui(() => page.waitForSelector("pre.payload"))
        assert.include(yield* ui(() => page.locator("pre.payload").innerText()), "<script>alert('xss')</script>")
        yield* shot(page, "04-job")
        yield* ui(() => page.locator("button", { hasText: "Discard" }).click())
        yield* ui(() => page.waitForSelector(`.flash >> text=Discarded job ${toDiscard.id}`))
        assert.isTrue(Option.isNone(yield* JobClient.find(toDiscard.id)))

        yield* ui(() => page.goto("/jobs?state=ready"))
        yield* shot(page, "05-ready-jobs")
        assert.deepStrictEqual(dialogs, [])
      }).pipe(TestServices.provideLive))

    it.scoped("an operator reads a job's result and failed attempts, and cancels a waiting job by clicking", () =>
      Effect.gen(function*() {
        yield* reset
        const port = yield* Effect.promise(freePort)
        yield* Layer.build(Dashboard.serve({ port, auth: Dashboard.basicAuth({ username: "ops", password: "s3cret" }) }))
        const [sent, failed] = yield* Effect.scoped(Effect.gen(function*() {
          yield* handlers(SendInvoice.toLayer(({ failures, invoice }) =>
            Effect.flatMap(CurrentJob.CurrentJob, (job) =>
              job.attempt <= failures
                ? Effect.fail(new RateLimited({ message: `429 Too Many Requests (attempt ${job.attempt})` }))
                : Effect.succeed({ messageId: `msg-${invoice}`, recipients: ["billing@example.com", "ops@example.com"] }))
          ))
          yield* startWorker({ queues: ["billing"] })
          const sent = yield* SendInvoice.enqueue({ invoice: 42, failures: 2 })
          const failed = yield* SendInvoice.enqueue({ invoice: 43, failures: 3 })
          yield* sent.await({ timeout: "30 seconds" })
          yield* Effect.flip(failed.await({ timeout: "30 seconds" }))
          return [sent, failed] as const
        }))
        const waiting = yield* Probe.enqueue({ label: "reminder" }, { delay: "2 hours" })

        const { dialogs, page } = yield* browserPage(`http://127.0.0.1:${port}`)
        yield* ui(() => page.goto(`/jobs/${sent.id}`))
        assert.include(yield* ui(() => page.locator("pre.result").innerText()), "\"messageId\": \"msg-42\"")
        assert.strictEqual(yield* ui(() => page.locator("table.attempts tbody tr").count()), 2)
        yield* shot(page, "06-job-result-attempts")

        yield* ui(() => page.goto(`/jobs/${failed.id}`))
        assert.strictEqual(yield* ui(() => page.locator("table.attempts tbody tr").count()), 3)
        assert.include(yield* ui(() => page.locator("table.attempts").innerText()), "429 Too Many Requests (attempt 3)")
        yield* shot(page, "07-job-failed-attempts")

        yield* ui(() => page.goto("/jobs?state=scheduled"))
        yield* ui(() => page.locator(`tr[data-job-id="${waiting.id}"] button`, { hasText: "Cancel" }).click())
        yield* ui(() => page.waitForSelector(`.flash >> text=Cancelled job ${waiting.id}`))
        assert.deepStrictEqual(Option.map(yield* JobClient.find(waiting.id), (j) => j.state), Option.some("cancelled"))
        yield* ui(() => page.click(".tabs >> text=Cancelled"))
        yield* ui(() => page.waitForSelector(`tr[data-job-id="${waiting.id}"]`))
        yield* shot(page, "08-cancelled-jobs")
        assert.deepStrictEqual(dialogs, [])
      }).pipe(TestServices.provideLive))
  })
})
