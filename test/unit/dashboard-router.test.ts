/**
 * The dashboard's router over stand-in services, without a database: how paths, queries and forms are decoded,
 * and what the middleware answers around them.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger, Option } from "effect"
import { Admin, type AdminService, type ListOptions } from "../../src/Admin.js"
import * as Dashboard from "../../src/Dashboard.js"
import { makeBrowser } from "../support/http.js"

const basic = `Basic ${Buffer.from("ops:s3cret").toString("base64")}`

/** Stand-ins that answer with nothing and note what they were asked. */
const services = () => {
  const listed: Array<ListOptions> = []
  const looked: Array<number> = []
  const retried: Array<number> = []
  const admin: Partial<AdminService> = {
    queues: Effect.succeed([]),
    stateCounts: () => Effect.succeed([]),
    throughput: Effect.succeed([]),
    jobs: (options) => Effect.sync(() => (listed.push(options), { jobs: [], next: Option.none() })),
    job: (id) => Effect.sync(() => (looked.push(id), Option.none())),
    // Whatever the database's error type is: one the dashboard does not expect.
    processes: Effect.fail(new Error("the process table is gone")) as unknown as AdminService["processes"],
    recurringTasks: Effect.succeed([]),
    retry: (id) => Effect.sync(() => void retried.push(id))
  }
  const layer = Layer.succeed(Admin, admin as AdminService)
  return { listed, looked, retried, layer }
}

const browse = (layer: Layer.Layer<Admin>, authorization: string | null = basic) =>
  Effect.gen(function*() {
    const router = yield* Dashboard.router({ auth: Dashboard.basicAuth({ username: "ops", password: "s3cret" }) })
    return makeBrowser(yield* Effect.runtime<never>(), router, authorization ?? undefined)
  }).pipe(Effect.provide(layer))

describe("dashboard router", () => {
  it.effect("decodes the jobs list's query leniently: an unknown state is failed, a bad cursor none", () =>
    Effect.gen(function*() {
      const s = services()
      const b = yield* browse(s.layer)
      assert.strictEqual((yield* b.get("/jobs?state=bogus&before=12abc&queue=%20mail%20&task=")).status, 200)
      assert.strictEqual((yield* b.get("/jobs?state=ready&state=failed&before=12&before=13")).status, 200)
      assert.strictEqual((yield* b.get("/jobs")).status, 200)
      assert.deepStrictEqual(s.listed, [
        { state: "failed", queue: "mail", task: undefined, before: undefined, limit: 25 },
        { state: "ready", before: 12, limit: 25 },
        { state: "failed", limit: 25 }
      ])
    }))

  it.effect("a job's page takes digits only; anything else is the 404 page, with the dashboard's headers", () =>
    Effect.gen(function*() {
      const s = services()
      const b = yield* browse(s.layer)
      assert.strictEqual((yield* b.get("/jobs/0012")).status, 404) // no such job in the stand-in
      for (const path of ["/jobs/1e3", "/jobs/-1", "/jobs/1234567890123456", "/jobs/%20"]) {
        const reply = yield* b.get(path)
        assert.strictEqual(reply.status, 404, path)
        assert.include(reply.body, "There is no such page or job.", path)
        assert.strictEqual(reply.headers.get("x-frame-options"), "DENY", path)
      }
      assert.deepStrictEqual(s.looked, [12])
    }))

  it.effect("an action on a path that is not a job id says so, and does nothing", () =>
    Effect.gen(function*() {
      const s = services()
      const b = yield* browse(s.layer)
      yield* b.get("/")
      const reply = yield* b.post("/jobs/abc/retry", { return_to: "/jobs?state=failed" })
      assert.strictEqual(reply.status, 303)
      assert.strictEqual(reply.headers.get("location"), "/jobs?state=failed")
      assert.include((yield* b.get("/")).body, "no such job")
      assert.strictEqual((yield* b.post("/jobs/7/retry")).status, 303)
      assert.deepStrictEqual(s.retried, [7])
    }))

  it.effect("a body that cannot be read is a 400 page", () =>
    Effect.gen(function*() {
      const b = yield* browse(services().layer)
      yield* b.get("/")
      const broken = new ReadableStream<Uint8Array>({ start: (controller) => controller.error(new Error("reset")) })
      const reply = yield* b.send("/queues/pause", {
        method: "POST",
        body: broken,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        duplex: "half"
      } as RequestInit)
      assert.strictEqual(reply.status, 400)
      assert.include(reply.body, "The form could not be read.")
    }))

  it.effect("a failure nobody expected is a 500 page, logged", () =>
    Effect.gen(function*() {
      const logged: Array<string> = []
      const logger = Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => void logged.push(String(message))))
      const b = yield* browse(Layer.merge(services().layer, logger))
      const reply = yield* b.get("/processes")
      assert.strictEqual(reply.status, 500)
      assert.include(reply.body, "Something went wrong")
      assert.strictEqual(reply.headers.get("cache-control"), "no-store")
      assert.isTrue(logged.some((m) => m.includes("request failed")))
    }))

  it.effect("without credentials: 401 with the security headers; unknown paths and methods need none", () =>
    Effect.gen(function*() {
      const b = yield* browse(services().layer, null)
      const refused = yield* b.get("/jobs")
      assert.strictEqual(refused.status, 401)
      assert.include(refused.headers.get("www-authenticate") ?? "", "Basic realm=\"steady-queue\"")
      assert.include(refused.headers.get("content-security-policy") ?? "", "default-src 'none'")
      assert.strictEqual((yield* b.get("/nowhere")).status, 404)
      assert.strictEqual((yield* b.send("/jobs", { method: "PUT" })).status, 405)
      assert.strictEqual((yield* b.get("/assets/style.css")).status, 200)
    }))
})
