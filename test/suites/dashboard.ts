import { HttpRouter, HttpServerRequest } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schedule, Schema, TestClock, TestServices } from "effect"
import { Admin, Dashboard, JobClient, Recurring, Task } from "../../src/index.js"
import { type DialectName, reset, suiteLayer } from "../support/databases.js"
import { Flaky, Sum, sumHandler } from "../support/flaky-sum.js"
import { count, eventually, handlers, Probe, startWorker } from "../support/harness.js"
import { failJob, makeBrowser } from "../support/http.js"

const Report = Task.make("Report", { payload: Schema.Struct({ name: Schema.String }), queue: "reports" })
const Export = Task.make("Export", { payload: Schema.Struct({ account: Schema.String }), concurrency: { key: (p) => p.account } })


/** Fails once and is retried an hour later. */
const Later = Task.make("Later", {
  payload: Schema.Struct({}),
  retry: { maxAttempts: 2, schedule: Schedule.spaced("1 hour") },
  queue: "sums"
})
const laterHandler = Later.toLayer(() => Effect.fail(new Flaky({ message: "try again later" })))

/** Runs until interrupted. */
const Forever = Task.make("Forever", { payload: Schema.Struct({}), queue: "forever" })

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`
const admin = basic("ops", "s3cret")

/** A browser on the dashboard, behind basic auth, optionally mounted under a prefix. */
const browser = (prefix?: `/${string}`) =>
  Effect.gen(function*() {
    const dashboard = yield* Dashboard.router({ auth: Dashboard.basicAuth({ username: "ops", password: "s3cret" }) })
    const app = prefix === undefined ? dashboard : HttpRouter.empty.pipe(HttpRouter.mount(prefix, dashboard))
    return makeBrowser(yield* Effect.runtime<never>(), app, admin)
  })

const stateOf = (id: number) => Effect.map(JobClient.find(id), Option.map((j) => j.state))

/** Loads a page (for its CSRF cookie), then posts a form the way its button would. */
const click = (b: Effect.Effect.Success<ReturnType<typeof browser>>, path: string, fields: Record<string, string> = {}) =>
  Effect.gen(function*() {
    yield* b.get("/")
    const reply = yield* b.post(path, fields)
    assert.strictEqual(reply.status, 303, reply.body)
    return reply
  })

export const dashboardSuite = (dialect: DialectName) =>
  layer(suiteLayer(dialect), { timeout: "60 seconds" })("dashboard", (it) => {
    it.effect("asks for credentials, and lets only the right ones in", () =>
      Effect.gen(function*() {
        yield* reset
        const dashboard = yield* Dashboard.router({ auth: Dashboard.basicAuth({ username: "ops", password: "s3cret" }) })
        const runtime = yield* Effect.runtime<never>()
        const none = yield* makeBrowser(runtime, dashboard).get("/")
        assert.strictEqual(none.status, 401)
        assert.include(none.headers.get("www-authenticate") ?? "", "Basic realm=\"steady-queue\"")
        assert.strictEqual((yield* makeBrowser(runtime, dashboard, basic("ops", "wrong")).get("/")).status, 401)
        assert.strictEqual((yield* makeBrowser(runtime, dashboard, basic("intruder", "s3cret")).get("/")).status, 401)
        assert.strictEqual((yield* makeBrowser(runtime, dashboard, admin).get("/")).status, 200)
        assert.strictEqual((yield* makeBrowser(runtime, dashboard, admin).send("/", { method: "HEAD" })).status, 200)
        assert.strictEqual((yield* makeBrowser(runtime, dashboard).send("/", { method: "HEAD" })).status, 401)
        const weak = yield* Effect.flip(Dashboard.router({ auth: Dashboard.noAuth, csrfSecret: "short" }))
        assert.strictEqual(weak._tag, "InvalidConfigError")
        // POSTs are authenticated too, before anything else.
        yield* Probe.enqueue({ label: "x" }, { queue: "guarded" })
        assert.strictEqual((yield* makeBrowser(runtime, dashboard).post("/queues/pause", { queue: "guarded" })).status, 401)
        assert.deepStrictEqual(yield* Admin.pausedQueues, [])

        const custom = yield* Dashboard.router({
          auth: Dashboard.authenticate((request: HttpServerRequest.HttpServerRequest) =>
            Effect.succeed(request.headers["x-operator"] === "yes")
          )
        })
        assert.strictEqual((yield* makeBrowser(runtime, custom).get("/")).status, 403)
        assert.strictEqual((yield* makeBrowser(runtime, custom).get("/", { "x-operator": "yes" })).status, 200)
      }))

    it.effect("renders every page, with security headers, and answers unknown paths and methods", () =>
      Effect.gen(function*() {
        yield* reset
        const b = yield* browser()
        const ready = yield* Probe.enqueue({ label: "ready one" }, { queue: "mail" })
        const scheduled = yield* Probe.enqueue({ label: "later" }, { delay: "1 hour" })
        const failed = yield* Probe.enqueue({ label: "broken" })
        yield* failJob(failed.id, { tag: "SmtpError", message: "connection refused", stack: "SmtpError: connection refused\n    at send (mail.ts:1:1)" })
        yield* Effect.flatMap(Recurring.add({ key: "nightly", schedule: "0 3 * * *", task: Report, payload: { name: "daily" } }), () => Effect.void)

        const home = yield* b.get("/")
        assert.strictEqual(home.status, 200)
        assert.include(home.headers.get("content-type") ?? "", "text/html")
        assert.include(home.headers.get("content-security-policy") ?? "", "default-src 'none'")
        assert.strictEqual(home.headers.get("x-frame-options"), "DENY")
        assert.include(home.body, "data-queue=\"mail\"")
        assert.include(home.body, "<svg class=\"chart\"")
        assert.notInclude(home.body, "<script")
        assert.notMatch(home.body, /(src|href)="https?:/) // nothing loaded from elsewhere

        for (const state of Admin.jobStates) {
          const list = yield* b.get(`/jobs?state=${state}`)
          assert.strictEqual(list.status, 200, `${state}: ${list.body}`)
        }
        assert.include((yield* b.get("/jobs?state=ready")).body, `data-job-id="${ready.id}"`)
        assert.include((yield* b.get("/jobs?state=scheduled")).body, `data-job-id="${scheduled.id}"`)
        const failures = yield* b.get("/jobs?state=failed")
        assert.include(failures.body, `data-job-id="${failed.id}"`)
        assert.include(failures.body, "SmtpError: connection refused")

        const job = yield* b.get(`/jobs/${failed.id}`)
        assert.strictEqual(job.status, 200)
        assert.include(job.body, "at send (mail.ts:1:1)")
        assert.include(job.body, "&quot;label&quot;: &quot;broken&quot;")
        assert.include((yield* b.get("/recurring")).body, "nightly")
        assert.include((yield* b.get("/processes")).body, "No process is running")
        const css = yield* b.get("/assets/style.css")
        assert.strictEqual(css.status, 200)
        assert.include(css.headers.get("content-type") ?? "", "text/css")

        assert.strictEqual((yield* b.get("/jobs/999999999")).status, 404)
        assert.strictEqual((yield* b.get("/jobs/not-a-number")).status, 404)
        assert.strictEqual((yield* b.get("/nowhere")).status, 404)
        // Reading an action's URL changes nothing; other methods are refused.
        assert.strictEqual((yield* b.get(`/jobs/${failed.id}/discard`)).status, 404)
        assert.strictEqual((yield* b.send(`/jobs/${failed.id}/discard`, { method: "DELETE" })).status, 405)
        assert.deepStrictEqual(yield* stateOf(failed.id), Option.some("failed"))
      }))

    it.effect("escapes every value: markup in a payload, an error, a queue and a task name renders inert", () =>
      Effect.gen(function*() {
        yield* reset
        const b = yield* browser()
        const evil = "<script>alert('pwned')</script>"
        const job = yield* Probe.enqueue({ label: evil }, { queue: "<b>queue</b>" })
        const failing = yield* Probe.enqueue({ label: "x" }, { queue: "<b>queue</b>" })
        yield* failJob(failing.id, { tag: "<img src=x onerror=alert(1)>", message: evil })
        const pages = [
          yield* b.get(`/jobs/${job.id}`),
          yield* b.get(`/jobs/${failing.id}`),
          yield* b.get("/jobs?state=failed"),
          yield* b.get("/"),
          yield* b.get(`/jobs?state=ready&queue=${encodeURIComponent("<b>queue</b>")}&task=${encodeURIComponent("\"><script>")}`)
        ]
        for (const page of pages) {
          assert.strictEqual(page.status, 200)
          assert.notInclude(page.body, "<script")
          assert.notInclude(page.body, "<img")
          assert.notInclude(page.body, "<b>queue")
        }
        assert.include(pages[0].body, "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;")
        assert.include(pages[1].body, "&lt;img src=x onerror=alert(1)&gt;")
        assert.include(pages[3].body, "&lt;b&gt;queue&lt;/b&gt;")
      }))

    it.effect("refuses state changes without the form's CSRF token, or from another site", () =>
      Effect.gen(function*() {
        yield* reset
        const b = yield* browser()
        const job = yield* Probe.enqueue({ label: "keep me" })
        yield* failJob(job.id, { tag: "Boom", message: "boom" })
        // No page loaded yet: no cookie, no token.
        assert.strictEqual((yield* b.post(`/jobs/${job.id}/discard`)).status, 403)
        yield* b.get("/")
        assert.strictEqual((yield* b.post(`/jobs/${job.id}/discard`, {}, { csrf: null })).status, 403)
        assert.strictEqual((yield* b.post(`/jobs/${job.id}/discard`, {}, { csrf: "forged.token" })).status, 403)
        const forgedCookie = yield* b.post(`/jobs/${job.id}/discard`, {}, {
          csrf: "abc.def",
          headers: { cookie: "steady_queue_csrf=abc.def" }
        })
        assert.strictEqual(forgedCookie.status, 403)
        const crossSite = yield* b.post(`/jobs/${job.id}/discard`, {}, { headers: { "sec-fetch-site": "cross-site" } })
        assert.strictEqual(crossSite.status, 403)
        assert.deepStrictEqual(yield* stateOf(job.id), Option.some("failed"))
        // The same request with the page's token goes through.
        assert.strictEqual((yield* b.post(`/jobs/${job.id}/discard`)).status, 303)
        assert.isTrue(Option.isNone(yield* JobClient.find(job.id)))
      }))

    it.effect("retries and discards one job, says so once, and reports what cannot be done", () =>
      Effect.gen(function*() {
        yield* reset
        const b = yield* browser()
        const [a, c] = yield* JobClient.enqueueAll([Probe.job({ label: "a" }), Probe.job({ label: "c" })])
        yield* failJob(a.id, { tag: "Boom", message: "boom" })
        yield* failJob(c.id, { tag: "Boom", message: "boom" })

        const retried = yield* click(b, `/jobs/${a.id}/retry`, { return_to: "/jobs?state=failed" })
        assert.strictEqual(retried.headers.get("location"), "/jobs?state=failed")
        assert.deepStrictEqual(yield* stateOf(a.id), Option.some("ready"))
        const after = yield* b.get("/jobs?state=failed")
        assert.include(after.body, `Retried job ${a.id}`)
        assert.notInclude((yield* b.get("/jobs?state=failed")).body, `Retried job ${a.id}`) // shown once

        yield* click(b, `/jobs/${c.id}/discard`)
        assert.isTrue(Option.isNone(yield* JobClient.find(c.id)))

        // Retrying a job that is not failed is the operator's mistake, not a server error.
        yield* click(b, `/jobs/${a.id}/retry`)
        const explained = yield* b.get("/")
        assert.include(explained.body, "class=\"flash error\"")
        assert.include(explained.body, `job ${a.id} is ready, not failed`)
        yield* click(b, "/jobs/987654321/discard")
        assert.include((yield* b.get("/")).body, "job 987654321 does not exist")
        // A return address outside the dashboard is not followed.
        for (const [returnTo, location] of [
          ["//evil.example/", "/"],
          ["/\t/evil.example", "/"],
          ["/jobs\r\nSet-Cookie: x=1", "/"],
          ["https://evil.example/", "/"],
          ["/jobs/../../processes?x=1", "/processes?x=1"]
        ]) {
          const reply = yield* click(b, `/jobs/${a.id}/discard`, { return_to: returnTo })
          assert.strictEqual(reply.headers.get("location"), location, returnTo)
        }
        // Two actions before the page reloads: the second one's message is the one shown.
        yield* click(b, "/queues/pause", { queue: "first" })
        yield* click(b, "/queues/pause", { queue: "second" })
        assert.include((yield* b.get("/")).body, "Paused queue second")
      }))

    it.effect("retries all failed jobs, or those matching the filter, and discards in bulk by state and filter", () =>
      Effect.gen(function*() {
        yield* reset
        const b = yield* browser()
        const jobs = yield* JobClient.enqueueAll([
          ...Array.from({ length: 3 }, (_, i) => Probe.job({ label: `mail ${i}` }, { queue: "mail" })),
          ...Array.from({ length: 2 }, (_, i) => Probe.job({ label: `sms ${i}` }, { queue: "sms" })),
          Report.job({ name: "r" })
        ])
        for (const j of jobs) yield* failJob(j.id, { tag: "Boom", message: "boom" })

        yield* click(b, "/jobs/retry-all", { queue: "mail" })
        assert.strictEqual(yield* count("steady_queue_failed_executions"), 3)
        assert.strictEqual(yield* count("steady_queue_ready_executions"), 3)
        assert.include((yield* b.get("/")).body, "Retried 3 jobs")

        yield* click(b, "/jobs/retry-all", { task: "Report" })
        assert.strictEqual(yield* count("steady_queue_failed_executions"), 2)

        yield* click(b, "/jobs/discard-all", { state: "ready", queue: "mail" })
        assert.strictEqual(yield* count("steady_queue_ready_executions"), 1) // the Report job
        assert.strictEqual(yield* count("steady_queue_jobs"), 3)

        yield* click(b, "/jobs/retry-all")
        assert.strictEqual(yield* count("steady_queue_failed_executions"), 0)
        yield* click(b, "/jobs/discard-all", { state: "ready" })
        assert.strictEqual(yield* count("steady_queue_jobs"), 0)

        // A ready job of a limited task holds its semaphore's slot: discarding it lets the next one in.
        yield* JobClient.enqueueAll([1, 2, 3].map(() => Export.job({ account: "acme" })))
        assert.strictEqual(yield* count("steady_queue_blocked_executions"), 2)
        yield* click(b, "/jobs/discard-all", { state: "ready", task: "Export" })
        assert.strictEqual(yield* count("steady_queue_ready_executions"), 1)
        assert.strictEqual(yield* count("steady_queue_blocked_executions"), 1)

        yield* click(b, "/jobs/discard-all", { state: "finished" })
        assert.include((yield* b.get("/")).body, "cannot be discarded in bulk")
      }))

    it.effect("pauses and resumes a queue, runs a scheduled job now and a recurring task now", () =>
      Effect.gen(function*() {
        yield* reset
        const b = yield* browser()
        yield* Probe.enqueue({ label: "mail" }, { queue: "mail" })
        yield* click(b, "/queues/pause", { queue: "mail" })
        assert.deepStrictEqual(yield* Admin.pausedQueues, ["mail"])
        assert.include((yield* b.get("/")).body, "badge paused")
        yield* click(b, "/queues/resume", { queue: "mail" })
        assert.deepStrictEqual(yield* Admin.pausedQueues, [])
        yield* click(b, "/queues/pause", { queue: "bad*name" })
        assert.include((yield* b.get("/")).body, "must not contain")
        assert.deepStrictEqual(yield* Admin.pausedQueues, [])

        const later = yield* Probe.enqueue({ label: "later" }, { delay: "2 hours" })
        yield* click(b, `/jobs/${later.id}/run`)
        assert.deepStrictEqual(yield* stateOf(later.id), Option.some("ready"))
        yield* click(b, `/jobs/${later.id}/run`)
        assert.include((yield* b.get("/")).body, `job ${later.id} is ready, not scheduled`)

        yield* Effect.asVoid(Recurring.add({ key: "hourly report", schedule: "@hourly", task: Report, payload: { name: "h" } }))
        yield* click(b, "/recurring/run", { key: "hourly report" })
        assert.strictEqual(yield* count("steady_queue_jobs", "task_name = 'Report'"), 1)
        assert.strictEqual(yield* count("steady_queue_recurring_executions"), 1)
        const row = /<tr>\s*<td>hourly report[\s\S]*?<\/tr>/.exec((yield* b.get("/recurring")).body)?.[0] ?? ""
        assert.strictEqual(row.match(/<time /g)?.length, 2) // its last run and its next run
        yield* click(b, "/recurring/run", { key: "missing" })
        assert.include((yield* b.get("/")).body, "there is no recurring task")
      }))

    it.effect("pages through jobs newest first with a keyset cursor, and filters by queue and task", () =>
      Effect.gen(function*() {
        yield* reset
        const b = yield* browser()
        const jobs = yield* JobClient.enqueueAll(Array.from({ length: 30 }, (_, i) => Probe.job({ label: `j${i}` }, { queue: i % 2 === 0 ? "even" : "odd" })))
        const ids = jobs.map((j) => j.id).sort((x, y) => y - x)
        const first = yield* b.get("/jobs?state=ready")
        const shown = (body: string) => [...body.matchAll(/data-job-id="(\d+)"/g)].map((m) => Number(m[1]))
        assert.deepStrictEqual(shown(first.body), ids.slice(0, 25))
        const next = /rel="next" href="([^"]+)"/.exec(first.body)?.[1]?.replace(/&amp;/g, "&")
        assert.strictEqual(next, `/jobs?state=ready&before=${ids[24]}`)
        const second = yield* b.get(next!)
        assert.deepStrictEqual(shown(second.body), ids.slice(25))
        assert.notInclude(second.body, "rel=\"next\"")
        const even = yield* b.get("/jobs?state=ready&queue=even&task=Probe")
        assert.deepStrictEqual(shown(even.body), jobs.filter((_, i) => i % 2 === 0).map((j) => j.id).sort((x, y) => y - x))
        assert.deepStrictEqual(shown((yield* b.get("/jobs?state=ready&task=Other")).body), [])
      }))

    it.effect("the chart counts jobs finished and failed per minute over the last hour", () =>
      Effect.gen(function*() {
        yield* reset
        const sql = yield* SqlClient.SqlClient
        const now = Date.UTC(2026, 10, 23, 12, 30, 30)
        yield* TestClock.setTime(now)
        const jobs = yield* JobClient.enqueueAll(Array.from({ length: 6 }, (_, i) => Probe.job({ label: `c${i}` })))
        const finishAt = (id: number, at: number) =>
          sql`UPDATE steady_queue_jobs SET finished_at = ${at} WHERE id = ${id}`.pipe(Effect.orDie)
        yield* finishAt(jobs[0].id, now - 10 * 60_000) // 12:20
        yield* finishAt(jobs[1].id, now - 10 * 60_000 + 5_000) // 12:20
        yield* finishAt(jobs[2].id, now - 90 * 60_000) // too old
        yield* failJob(jobs[3].id, { tag: "Boom", message: "boom" }, now - 59 * 60_000) // 11:31, the first bar
        const throughput = Effect.flatMap(Admin.Admin, (a) => a.throughput)
        const first = yield* throughput
        assert.strictEqual(first.length, 60)
        assert.strictEqual(first[0].minute.toISOString(), "2026-11-23T11:31:00.000Z")
        assert.strictEqual(first[59].minute.toISOString(), "2026-11-23T12:30:00.000Z")
        assert.deepStrictEqual(first.filter((m) => m.finished + m.failed > 0).map((m) => [m.minute.toISOString().slice(11, 16), m.finished, m.failed]), [
          ["11:31", 0, 1],
          ["12:20", 2, 0]
        ])
        // The current minute is counted afresh each time.
        yield* finishAt(jobs[4].id, now)
        yield* failJob(jobs[5].id, { tag: "Boom", message: "boom" }, now)
        const second = yield* throughput
        assert.deepStrictEqual([second[59].finished, second[59].failed], [1, 1])
        assert.deepStrictEqual([second[49].finished, second[0].failed], [2, 1])
        // An hour later, the old minutes have left the chart.
        yield* TestClock.adjust("1 hour")
        const later = yield* throughput
        assert.deepStrictEqual(later[59].minute.toISOString(), "2026-11-23T13:30:00.000Z")
        assert.deepStrictEqual(later.filter((m) => m.finished + m.failed > 0).map((m) => m.minute.toISOString().slice(11, 16)), [])
      }))

    it.effect("mounted under a path, links, forms and redirects stay under it", () =>
      Effect.gen(function*() {
        yield* reset
        const b = yield* browser("/admin/queue")
        yield* Probe.enqueue({ label: "x" }, { queue: "mail" })
        const home = yield* b.get("/admin/queue")
        assert.strictEqual(home.status, 200)
        assert.include(home.body, "href=\"/admin/queue/assets/style.css\"")
        assert.include(home.body, "action=\"/admin/queue/queues/pause\"")
        assert.include(home.body, "href=\"/admin/queue/jobs?state=ready&amp;queue=mail\"")
        assert.strictEqual((yield* b.get("/admin/queue/jobs?state=ready")).status, 200)
        const paused = yield* b.post("/admin/queue/queues/pause", { queue: "mail", return_to: "/jobs?state=ready" })
        assert.strictEqual(paused.status, 303)
        assert.strictEqual(paused.headers.get("location"), "/admin/queue/jobs?state=ready")
        assert.deepStrictEqual(yield* Admin.pausedQueues, ["mail"])
        assert.strictEqual((yield* b.get("/elsewhere")).status, 404)
      }))

    it.effect("return_to cannot leave the dashboard, at the root or under a path, whatever normalisation makes of it", () =>
      Effect.gen(function*() {
        yield* reset
        const tricks = [
          "/.//evil.example",
          "/a/..//evil.example",
          "/..//evil.example",
          "/%2e%2e//evil.example",
          "/./%2e//evil.example/x?y=1",
          "///evil.example",
          "/.///evil.example",
          "/\\evil.example",
          "/./\\evil.example",
          "/%2F%2Fevil.example",
          "/%5C%5Cevil.example",
          "/jobs/..//evil.example"
        ]
        for (const prefix of [undefined, "/admin/queue"] as const) {
          const b = yield* browser(prefix)
          const base = prefix ?? ""
          yield* b.get(`${base}/`)
          for (const returnTo of tricks) {
            const reply = yield* b.post(`${base}/queues/pause`, { queue: "q", return_to: returnTo })
            assert.strictEqual(reply.status, 303, reply.body)
            const location = reply.headers.get("location") ?? ""
            assert.match(location, /^\/(?![/\\])/, `${base} ${returnTo} -> ${location}`)
            const resolved = new URL(location, "https://dashboard.test/")
            assert.strictEqual(resolved.host, "dashboard.test", `${base} ${returnTo} -> ${location}`)
            assert.isTrue(resolved.pathname.startsWith(`${base}/`), `${base} ${returnTo} -> ${location}`)
          }
        }
      }))

    it.effect("a POST is checked for its origin and CSRF cookie before its body is read, and a body over 64 KiB is 413", () =>
      Effect.gen(function*() {
        yield* reset
        const b = yield* browser()
        yield* b.get("/")
        const token = b.cookies.get("steady_queue_csrf")!
        /** A 200 MB form body, made on demand; `pulled` says how much of it the server asked for. */
        const huge = () => {
          const chunk = new TextEncoder().encode(`_csrf=${token}&queue=big&pad=`.padEnd(16 * 1024, "x"))
          const source = { pulled: 0 }
          const stream = new ReadableStream<Uint8Array>({
            pull: (controller) => {
              source.pulled += chunk.length
              if (source.pulled > 200 * 1024 * 1024) controller.close()
              else controller.enqueue(chunk)
            }
          }, { highWaterMark: 0 })
          return { source, init: { method: "POST", body: stream, duplex: "half" } as RequestInit }
        }
        const form = { "content-type": "application/x-www-form-urlencoded" }

        // Chunked (no Content-Length): read a chunk at a time and given up just past the limit.
        const chunked = huge()
        const tooLarge = yield* b.send("/queues/pause", { ...chunked.init, headers: form })
        assert.strictEqual(tooLarge.status, 413)
        assert.isBelow(chunked.source.pulled, 256 * 1024)

        // A declared length over the limit: refused before reading anything.
        const declared = huge()
        const refused = yield* b.send("/queues/pause", { ...declared.init, headers: { ...form, "content-length": String(200 * 1024 * 1024) } })
        assert.strictEqual(refused.status, 413)
        assert.strictEqual(declared.source.pulled, 0)

        // From another site, or without a signed cookie: refused before reading anything.
        const crossSite = huge()
        assert.strictEqual((yield* b.send("/queues/pause", { ...crossSite.init, headers: { ...form, "sec-fetch-site": "cross-site" } })).status, 403)
        assert.strictEqual(crossSite.source.pulled, 0)
        const noCookie = huge()
        assert.strictEqual((yield* b.send("/queues/pause", { ...noCookie.init, headers: { ...form, cookie: "steady_queue_csrf=abc.def" } })).status, 403)
        assert.strictEqual(noCookie.source.pulled, 0)
        assert.deepStrictEqual(yield* Admin.pausedQueues, [])

        // A form just under the limit goes through.
        const padded = yield* b.post("/queues/pause", { queue: "big", pad: "x".repeat(60 * 1024) })
        assert.strictEqual(padded.status, 303, padded.body)
        assert.deepStrictEqual(yield* Admin.pausedQueues, ["big"])
      }))

    it.effect("cancels a ready, a scheduled and a blocked job from its button, says what happened, and lists them as cancelled", () =>
      Effect.gen(function*() {
        yield* reset
        const b = yield* browser()
        const ready = yield* Probe.enqueue({ label: "ready" })
        const scheduled = yield* Probe.enqueue({ label: "later" }, { delay: "1 hour" })
        const [, blocked] = yield* JobClient.enqueueAll([Export.job({ account: "acme" }), Export.job({ account: "acme" })])
        assert.deepStrictEqual(yield* stateOf(blocked.id), Option.some("blocked"))

        // Cancel is offered on every waiting job, in the lists and on its page.
        for (const [state, id] of [["ready", ready.id], ["scheduled", scheduled.id], ["blocked", blocked.id]] as const) {
          assert.include((yield* b.get(`/jobs?state=${state}`)).body, `action="/jobs/${id}/cancel"`, state)
          assert.include((yield* b.get(`/jobs/${id}`)).body, `action="/jobs/${id}/cancel"`, state)
        }

        const reply = yield* click(b, `/jobs/${ready.id}/cancel`, { return_to: `/jobs/${ready.id}` })
        assert.strictEqual(reply.headers.get("location"), `/jobs/${ready.id}`)
        assert.deepStrictEqual(yield* stateOf(ready.id), Option.some("cancelled"))
        const page = yield* b.get(`/jobs/${ready.id}`)
        assert.include(page.body, `Cancelled job ${ready.id}`)
        assert.include(page.body, "badge cancelled\">Cancelled</span>")
        assert.notInclude(page.body, `action="/jobs/${ready.id}/cancel"`) // nothing left to cancel

        yield* click(b, `/jobs/${scheduled.id}/cancel`)
        assert.deepStrictEqual(yield* stateOf(scheduled.id), Option.some("cancelled"))
        assert.include((yield* b.get("/")).body, `Cancelled job ${scheduled.id}`)
        yield* click(b, `/jobs/${blocked.id}/cancel`)
        assert.deepStrictEqual(yield* stateOf(blocked.id), Option.some("cancelled"))

        yield* click(b, `/jobs/${ready.id}/cancel`)
        assert.include((yield* b.get("/")).body, `Job ${ready.id} had already ended`)
        yield* click(b, "/jobs/987654321/cancel")
        const missing = yield* b.get("/")
        assert.include(missing.body, "class=\"flash error\"")
        assert.include(missing.body, "job 987654321 does not exist")

        // The cancelled tab lists them, without actions (they can be neither cancelled nor discarded in bulk).
        const list = yield* b.get("/jobs?state=cancelled")
        assert.match(list.body, /class="active">Cancelled<span class="count">3<\/span>/)
        const shown = [...list.body.matchAll(/data-job-id="(\d+)"/g)].map((m) => Number(m[1]))
        assert.deepStrictEqual(shown, [blocked.id, scheduled.id, ready.id])
        assert.notInclude(list.body, "/cancel\"")
        assert.notInclude(list.body, "discard-all")
        assert.include((yield* b.get("/")).body, "<div class=\"label\">Cancelled</div>")
      }))

    it.effect("cancels a running job from its button: its worker is asked to stop it, and the page says cancelling until it has", () =>
      Effect.gen(function*() {
        yield* reset
        const b = yield* browser()
        const job = yield* Forever.enqueue({})
        const stopped = yield* Effect.scoped(Effect.gen(function*() {
          yield* handlers(Forever.toLayer(() => Effect.never))
          yield* startWorker({ queues: ["forever"] })
          yield* eventually(Effect.map(stateOf(job.id), (s) => Option.getOrUndefined(s) === "claimed"))
          const running = yield* b.get(`/jobs/${job.id}`)
          assert.include(running.body, `action="/jobs/${job.id}/cancel"`)
          assert.include((yield* b.get("/jobs?state=claimed")).body, `action="/jobs/${job.id}/cancel"`)

          yield* click(b, `/jobs/${job.id}/cancel`, { return_to: `/jobs/${job.id}` })
          const asked = yield* b.get(`/jobs/${job.id}`)
          // The flash, and the page read right after the request (the worker may have stopped it already).
          assert.include(asked.body, `Job ${job.id} is running: asked its worker to stop it`)
          if (Option.getOrUndefined(yield* stateOf(job.id)) === "claimed") {
            assert.include(asked.body, "badge cancelling\">cancelling</span>")
          }
          yield* eventually(Effect.map(stateOf(job.id), (s) => Option.getOrUndefined(s) === "cancelled"), { what: "the job cancelled by its worker" })
          return yield* b.get(`/jobs/${job.id}`)
        }))
        assert.include(stopped.body, "badge cancelled\">Cancelled</span>")
        assert.notInclude(stopped.body, "cancelling")
        assert.notInclude(stopped.body, `action="/jobs/${job.id}/cancel"`)
      }).pipe(TestServices.provideLive))

    it.effect("a job's page shows its result, every failed attempt, its attempt limit, timeout and next retry", () =>
      Effect.gen(function*() {
        yield* reset
        const b = yield* browser()
        const [summed, retrying] = yield* Effect.scoped(Effect.gen(function*() {
          yield* handlers(sumHandler)
          yield* handlers(laterHandler)
          yield* startWorker({ queues: ["sums"] })
          const summed = yield* Sum.enqueue({ failures: 2 })
          const retrying = yield* Later.enqueue({})
          assert.deepStrictEqual(yield* summed.await({ timeout: "30 seconds" }), { total: 42 })
          yield* eventually(Effect.map(JobClient.find(retrying.id), Option.exists((j) => j.state === "scheduled")))
          return [summed, retrying] as const
        }))
        const info = Option.getOrThrow(yield* JobClient.find(summed.id))
        assert.strictEqual(info.attemptHistory.length, 2)

        const page = yield* b.get(`/jobs/${summed.id}`)
        assert.strictEqual(page.status, 200)
        assert.include(page.body, ">Finished</span>")
        assert.include(page.body, "<pre class=\"result\">{\n  &quot;total&quot;: 42\n}</pre>")
        assert.include(page.body, "<dt>Attempt</dt><dd>3 of 3</dd>")
        assert.include(page.body, "<dt>Timeout</dt><dd>1m 0s</dd>")
        assert.notInclude(page.body, "Next retry")
        assert.include(page.body, "<h2>Failed attempts</h2>")
        const rows = [...page.body.matchAll(/<tr data-attempt="(\d+)">([\s\S]*?)<\/tr>/g)]
        assert.deepStrictEqual(rows.map((r) => Number(r[1])), [1, 2])
        for (const [i, attempt] of info.attemptHistory.entries()) {
          const row = rows[i][2]
          assert.include(row, `<strong>Flaky</strong>: attempt ${attempt.attempt} flaked`)
          assert.include(row, `process ${Option.getOrThrow(attempt.processId)}`)
          assert.strictEqual(row.match(/<time /g)?.length, 2) // started and finished
        }
        // The list says which run it was, as the page does.
        const finished = yield* b.get("/jobs?state=finished")
        assert.match(finished.body, new RegExp(`data-job-id="${summed.id}">[\\s\\S]*?<td class="num">3</td>`))

        const later = yield* b.get(`/jobs/${retrying.id}`)
        assert.include(later.body, ">Scheduled</span>")
        assert.include(later.body, "<dt>Attempt</dt><dd>2 of 2</dd>")
        assert.include(later.body, "<dt>Next retry</dt>")
        assert.notInclude(later.body, "<dt>Timeout</dt>")
        assert.notInclude(later.body, "<h2>Result</h2>")
        assert.include(later.body, "<strong>Flaky</strong>: try again later")
        // A job waiting for its retry is cancelled like any scheduled job, and keeps its history.
        yield* click(b, `/jobs/${retrying.id}/cancel`)
        assert.deepStrictEqual(yield* stateOf(retrying.id), Option.some("cancelled"))
        const cancelled = yield* b.get(`/jobs/${retrying.id}`)
        assert.include(cancelled.body, "badge cancelled\">Cancelled</span>")
        assert.include(cancelled.body, "<strong>Flaky</strong>: try again later")
        assert.notInclude(cancelled.body, "Next retry")
      }).pipe(TestServices.provideLive))
  })
