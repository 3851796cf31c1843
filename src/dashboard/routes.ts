/**
 * The dashboard's routes: pages (GET) and actions (POST), their paths, queries and forms decoded with schemas.
 * They run behind the middleware `Dashboard.router` puts around them, which gives them `CurrentView` and, to
 * actions, the checked `SubmittedForm`.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
import type { AdminService } from "../Admin.js"
import { DiscardableStates } from "../Domain.js"
import { ExpectedFailure, isExpected } from "./failures.js"
import { type Flash, redirectWithFlash } from "./flash.js"
import { decodeForm } from "./form.js"
import type { Html } from "./html.js"
import * as Pages from "./pages.js"
import { Field, JobPath, JobsQuery, Text } from "./params.js"
import { safeReturn, sameOrigin } from "./paths.js"
import { CurrentView } from "./request.js"
import { stylesheet } from "./style.js"
import { htmlResponse, type View } from "./view.js"

/** A page rendered with the request's view; nothing to render is the 404 page. */
const page = <E, R>(render: (view: View) => Effect.Effect<Html | undefined, E, R>) =>
  Effect.flatMap(CurrentView, (view) =>
    Effect.map(render(view), (body) =>
      body === undefined
        ? htmlResponse(Pages.messagePage(view, "Not found", "There is no such page or job."), 404)
        : htmlResponse(body)))

export const pages = (admin: AdminService) =>
  HttpRouter.empty.pipe(
    HttpRouter.get(
      "/",
      page((view) =>
        Effect.map(
          Effect.all([admin.queues, admin.stateCounts(), admin.throughput]),
          ([queues, counts, throughput]) => Pages.queuesPage(view, queues, counts, throughput)
        )
      )
    ),
    HttpRouter.get(
      "/jobs",
      page((view) =>
        Effect.gen(function*() {
          const query = yield* HttpServerRequest.schemaSearchParams(JobsQuery)
          const options = { ...query, limit: 25 }
          const [jobs, counts] = yield* Effect.all([admin.jobs(options), admin.stateCounts()])
          return Pages.jobsPage(view, options, jobs, counts)
        })
      )
    ),
    HttpRouter.get(
      "/jobs/:id",
      page((view) =>
        HttpRouter.schemaPathParams(JobPath).pipe(
          Effect.flatMap(({ id }) => admin.job(id)),
          Effect.map(Option.match({ onNone: () => undefined, onSome: (job) => Pages.jobPage(view, job) })),
          // Not a job id: no such job.
          Effect.catchTag("ParseError", () => Effect.succeed(undefined))
        )
      )
    ),
    HttpRouter.get("/processes", page((view) => Effect.map(admin.processes, (ps) => Pages.processesPage(view, ps)))),
    HttpRouter.get("/recurring", page((view) => Effect.map(admin.recurringTasks, (ts) => Pages.recurringPage(view, ts))))
  )

const ReturnTo = Schema.Struct({ return_to: Schema.optional(Field) })

/**
 * An action: decodes what it acts on, performs it, and goes back (303) to the form's page with what happened as
 * a one-time message. An operator error (a job no longer failed, a bad queue name) becomes that message; anything
 * else is a server error.
 */
const act = <A, E1, R1, E2, R2>(
  input: Effect.Effect<A, E1, R1>,
  perform: (input: A) => Effect.Effect<string, E2, R2>
) =>
  Effect.gen(function*() {
    const view = yield* CurrentView
    const { return_to } = yield* decodeForm(ReturnTo)
    const flash = yield* Effect.flatMap(input, perform).pipe(
      Effect.map((message): Flash => ({ kind: "notice", message })),
      Effect.catchAll((e) => isExpected(e) ? Effect.succeed<Flash>({ kind: "error", message: e.message }) : Effect.fail(e))
    )
    return redirectWithFlash(sameOrigin(view.base + safeReturn(return_to)), flash, view.base)
  })

/** The job an action under `/jobs/:id` is about; an id that is not one is no such job. */
const jobId = Effect.map(
  Effect.mapError(HttpRouter.schemaPathParams(JobPath), () => new ExpectedFailure({ message: "no such job" })),
  ({ id }) => id
)

const QueueForm = Schema.Struct({ queue: Text })
const FilterForm = Schema.Struct({ queue: Text, task: Text })
const DiscardForm = Schema.Struct({ state: Text, queue: Text, task: Text })
const RecurringForm = Schema.Struct({ key: Text })
const isDiscardable = Schema.is(Schema.Literal(...DiscardableStates))

/** What cancelling did, as the operator reads it. */
const cancelled = (id: number) => (outcome: "cancelled" | "requested" | "ended") =>
  outcome === "cancelled"
    ? `Cancelled job ${id}`
    : outcome === "requested"
    ? `Job ${id} is running: asked its worker to stop it`
    : `Job ${id} had already ended`

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`

export const actions = (admin: AdminService) =>
  HttpRouter.empty.pipe(
    HttpRouter.post(
      "/queues/pause",
      act(decodeForm(QueueForm), ({ queue = "" }) => Effect.as(admin.pause(queue), `Paused queue ${queue}`))
    ),
    HttpRouter.post(
      "/queues/resume",
      act(decodeForm(QueueForm), ({ queue = "" }) => Effect.as(admin.resume(queue), `Resumed queue ${queue}`))
    ),
    HttpRouter.post(
      "/jobs/retry-all",
      act(decodeForm(FilterForm), (filter) => Effect.map(admin.retryAll(filter), (n) => `Retried ${plural(n, "job")}`))
    ),
    HttpRouter.post(
      "/jobs/discard-all",
      act(decodeForm(DiscardForm), ({ state = "failed", ...filter }) =>
        Effect.gen(function*() {
          if (!isDiscardable(state)) return yield* new ExpectedFailure({ message: `jobs ${state} cannot be discarded in bulk` })
          return `Discarded ${plural(yield* admin.discardAll({ ...filter, state }), "job")}`
        }))
    ),
    HttpRouter.post("/jobs/:id/retry", act(jobId, (id) => Effect.as(admin.retry(id), `Retried job ${id}`))),
    HttpRouter.post("/jobs/:id/discard", act(jobId, (id) => Effect.as(admin.discard(id), `Discarded job ${id}`))),
    HttpRouter.post("/jobs/:id/run", act(jobId, (id) => Effect.as(admin.runNow(id), `Job ${id} is due now`))),
    HttpRouter.post("/jobs/:id/cancel", act(jobId, (id) => Effect.map(admin.cancel(id), cancelled(id)))),
    HttpRouter.post(
      "/recurring/run",
      act(decodeForm(RecurringForm), ({ key = "" }) =>
        Effect.map(admin.runRecurringNow(key), (job) => `Enqueued job ${job.id} for recurring task ${key}`))
    )
  )

const methodNotAllowed = HttpServerResponse.text("Method not allowed", { status: 405, headers: { allow: "GET, POST" } })

/** What needs no authentication: the stylesheet, and the answers to paths and methods the dashboard does not have. */
export const publicRoutes = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/assets/style.css",
    Effect.succeed(HttpServerResponse.text(stylesheet, {
      contentType: "text/css; charset=utf-8",
      headers: { "cache-control": "public, max-age=3600", "x-content-type-options": "nosniff" }
    }))
  ),
  // Anything else: nothing to see, and no other method changes anything. (HEAD is left to fall back to GET.)
  HttpRouter.get("*", Effect.succeed(HttpServerResponse.text("Not found", { status: 404 }))),
  HttpRouter.post("*", Effect.succeed(methodNotAllowed)),
  HttpRouter.put("*", Effect.succeed(methodNotAllowed)),
  HttpRouter.patch("*", Effect.succeed(methodNotAllowed)),
  HttpRouter.del("*", Effect.succeed(methodNotAllowed)),
  HttpRouter.options("*", Effect.succeed(methodNotAllowed))
)

