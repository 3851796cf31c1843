/**
 * The dashboard mounted in an app's own HTTP server: the app answers `/`, the dashboard lives under
 * `/admin/jobs` behind basic auth, and a supervisor runs the example tasks while a producer keeps enqueueing
 * (a few of them fail), so every page has something to show.
 *
 *   node --import tsx examples/dashboard.ts
 *   open http://127.0.0.1:3000/admin/jobs   (user "admin", password $DASHBOARD_PASSWORD or "change-me")
 */
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Schedule } from "effect"
import * as fs from "node:fs"
import { createServer } from "node:http"
import { Dashboard, JobClient, Supervisor } from "steady-queue"
import * as Sqlite from "steady-queue/sqlite"
import { Handlers } from "./handlers.js"
import { ChargeCard, ResizeImage, SendWelcomeEmail } from "./tasks.js"

const port = Number(process.env.PORT ?? 3000)
fs.mkdirSync("tmp", { recursive: true })

// The app's own routes...
const AppRoutes = HttpRouter.Default.use((router) =>
  router.get("/", HttpServerResponse.text("The app. Its job dashboard is at /admin/jobs."))
)

// ...and the dashboard, mounted beside them.
const DashboardRoutes = Dashboard.layer({
  path: "/admin/jobs",
  auth: Dashboard.basicAuth({ username: "admin", password: process.env.DASHBOARD_PASSWORD ?? "change-me" })
})

const Server = HttpRouter.Default.unwrap(HttpServer.serve()).pipe(
  Layer.provide(AppRoutes),
  Layer.provide(DashboardRoutes),
  HttpServer.withLogAddress,
  Layer.provide(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" }))
)

// Some traffic: every second a few jobs, one order in ten over the card limit.
const Traffic = Layer.scopedDiscard(
  Effect.gen(function*() {
    let n = 0
    const tick = Effect.suspend(() => {
      n += 1
      return JobClient.enqueueAll([
        SendWelcomeEmail.job({ userId: n, email: `user${n}@example.com` }),
        ResizeImage.job({ path: `photos/${n}.jpg`, width: 640 }),
        ChargeCard.job({ orderId: n, cents: n % 10 === 0 ? 500_000n : 1_999n })
      ])
    })
    yield* Effect.forkScoped(Effect.repeat(tick, Schedule.spaced("1 second")))
  })
)

const Workers = Supervisor.layer({
  workers: [{ queues: ["*"], threads: 3 }],
  dispatchers: [{ pollingInterval: "500 millis" }]
})

Layer.mergeAll(Server, Traffic, Workers).pipe(
  Layer.provide(Handlers),
  Layer.provide(Sqlite.layer({ filename: process.env.DEMO_DB ?? "tmp/steady-queue-dashboard.db", migrate: true })),
  Layer.launch,
  NodeRuntime.runMain
)
