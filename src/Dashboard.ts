/**
 * The operator dashboard: queues, jobs by state, a job's page, processes, recurring tasks and a chart of the last
 * hour, with retry, discard, run-now, pause and resume. Server-rendered HTML, no script, no external requests.
 *
 * Mount it in your own `@effect/platform` HTTP server (`Dashboard.layer` on `HttpRouter.Default`, or
 * `Dashboard.router` into any router), or run it alone (`Dashboard.serve`, `npx steady-queue dashboard`).
 * Authentication is required in the options: HTTP basic auth, your own check, or an explicit `noAuth`.
 */
import {
  HttpMiddleware,
  HttpRouter,
  HttpServer,
  HttpServerRequest,
  HttpServerResponse,
  UrlParams
} from "@effect/platform"
import type { ServeError } from "@effect/platform/HttpServerError"
import { NodeHttpServer } from "@effect/platform-node"
import { Clock, Effect, Layer, Option, Redacted, Schema } from "effect"
import { createServer } from "node:http"
import { Admin, jobStates, type ListOptions } from "./Admin.js"
import type { JobState } from "./Domain.js"
import { InvalidConfigError } from "./Errors.js"
import type { Html } from "./dashboard/html.js"
import * as Pages from "./dashboard/pages.js"
import {
  type Auth,
  authorize,
  csrfCookie,
  csrfField,
  isCrossSite,
  makeCsrf,
  maxFormBytes,
  readForm
} from "./dashboard/security.js"
import { stylesheet } from "./dashboard/style.js"
import type { Flash, View } from "./dashboard/view.js"

export type { Auth } from "./dashboard/security.js"

/** HTTP basic auth against one username and password. */
export const basicAuth = (options: {
  readonly username: string
  readonly password: string | Redacted.Redacted
  readonly realm?: string
}): Auth => ({
  _tag: "Basic",
  username: options.username,
  password: typeof options.password === "string" ? Redacted.make(options.password) : options.password,
  // The realm goes into a header: printable ASCII only, without quotes or backslashes.
  realm: (options.realm ?? "steady-queue").replace(/[^\x20-\x7e]|["\\]/g, "") || "steady-queue"
})

/** Your own check (a session, a header set by your proxy, ...): answer true to let the request in. */
export const authenticate = <R = never>(
  check: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<boolean, never, R>
): Auth<R> => ({ _tag: "Check", check })

/** No authentication: only for a dashboard reachable solely from a trusted network. */
export const noAuth: Auth = { _tag: "None" }

export interface DashboardOptions<R = never> {
  readonly auth: Auth<R>
  /**
   * Key that signs CSRF tokens, at least 16 characters; default a random key per process (forms then expire on
   * restart). Give the same one to every instance behind one address.
   */
  readonly csrfSecret?: string | Redacted.Redacted
  /** Shown in the header and the page title; default "steady-queue". */
  readonly title?: string
}

const flashCookie = "steady_queue_flash"

const securityHeaders = {
  "content-security-policy":
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "same-origin",
  "cache-control": "no-store"
}

const page = (body: Html, status = 200) =>
  HttpServerResponse.text(body.value, { status, contentType: "text/html; charset=utf-8" })

/** Where the dashboard is mounted: the part of the original URL the router stripped. */
const basePath = (request: HttpServerRequest.HttpServerRequest) => {
  // The original URL may be absolute (requests made from web `Request`s).
  const pathname = (u: string) => new URL(u, "http://dashboard").pathname
  const original = pathname(request.originalUrl)
  const local = pathname(request.url)
  if (local === "/" && !original.endsWith("/")) return original
  return original.endsWith(local) ? original.slice(0, original.length - local.length) : ""
}

/**
 * A return address must stay inside the dashboard: a path (normalised, no control characters, no backslash) and
 * its query. Normalising can make a protocol-relative `//host` out of `/.//host` or `/a/..//host`, so leading
 * slashes are collapsed after it.
 */
const safeReturn = (path: string | undefined) => {
  if (path === undefined || !path.startsWith("/") || /[\x00-\x1f\x7f\\]/.test(path)) return "/"
  const url = new URL(path, "http://dashboard")
  if (url.origin !== "http://dashboard") return "/"
  const local = url.pathname.replace(/^\/+/, "/") + url.search
  return /^\/[^/\\]|^\/$/.test(local) ? local : "/"
}

/** The last word on a Location: a path on this origin, never `//host` or `/\\host`, whatever the mount path was. */
const sameOrigin = (location: string) => (/^\/(?![/\\])/.test(location) ? location : "/")

const encodeFlash = (flash: Flash) => Buffer.from(JSON.stringify(flash)).toString("base64url")
const decodeFlash = (value: string | undefined): Option.Option<Flash> => {
  if (value === undefined || value === "") return Option.none()
  try {
    const parsed = JSON.parse(Buffer.from(value, "base64url").toString("utf8")) as Partial<Flash>
    return typeof parsed.message === "string" && (parsed.kind === "notice" || parsed.kind === "error")
      ? Option.some({ kind: parsed.kind, message: parsed.message })
      : Option.none()
  } catch {
    return Option.none()
  }
}

const methodNotAllowed = HttpServerResponse.text("Method not allowed", { status: 405, headers: { allow: "GET, POST" } })

const jobIdParam = (value: string | undefined) =>
  value !== undefined && /^\d{1,15}$/.test(value) ? Option.some(Number(value)) : Option.none()

const text = (value: string | null) => {
  const trimmed = value?.trim() ?? ""
  return trimmed === "" ? undefined : trimmed
}

const listOptions = (search: URLSearchParams): ListOptions => {
  const state = search.get("state") ?? "failed"
  const before = jobIdParam(search.get("before") ?? undefined)
  return {
    state: (jobStates as ReadonlyArray<string>).includes(state) ? state as JobState : "failed",
    queue: text(search.get("queue")),
    task: text(search.get("task")),
    before: Option.getOrUndefined(before),
    limit: 25
  }
}

/** A request that cannot be carried out as asked; told to the operator, not logged as a fault. */
class ExpectedFailure extends Schema.TaggedError<ExpectedFailure>()("ExpectedFailure", { message: Schema.String }) {}

const expectedTags = new Set([
  "ExpectedFailure",
  "JobNotFoundError",
  "JobNotFailedError",
  "JobInProgressError",
  "JobNotScheduledError",
  "InvalidQueueNameError",
  "RecurringTaskNotFoundError"
])

const isExpected = (error: unknown): error is { readonly _tag: string; readonly message: string } =>
  typeof error === "object" && error !== null && expectedTags.has((error as { readonly _tag?: string })._tag ?? "") &&
  typeof (error as { readonly message?: unknown }).message === "string"

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`

/**
 * The dashboard as a router, to mount with `HttpRouter.mount("/jobs", router)`. Links follow the mount path.
 */
export const router = <R = never>(
  options: DashboardOptions<R>
): Effect.Effect<HttpRouter.HttpRouter, InvalidConfigError, Admin | R> =>
  Effect.gen(function*() {
    const admin = yield* Admin
    const context = yield* Effect.context<R>()
    const secret = options.csrfSecret === undefined || typeof options.csrfSecret === "string"
      ? options.csrfSecret
      : Redacted.value(options.csrfSecret)
    if (secret !== undefined && secret.length < 16) {
      return yield* new InvalidConfigError({ message: "the dashboard's csrfSecret must be at least 16 characters" })
    }
    const csrf = makeCsrf(secret)
    const title = options.title ?? "steady-queue"

    /** Authentication, the view every page needs, cookies and security headers around a handler. */
    const guarded = <E>(
      handle: (
        view: View,
        request: HttpServerRequest.HttpServerRequest
      ) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, HttpRouter.RouteContext>
    ) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const allowed = yield* Effect.provide(authorize(options.auth, request), context)
        if (!allowed) {
          return options.auth._tag === "Basic"
            ? HttpServerResponse.text("Authentication required", {
              status: 401,
              headers: { "www-authenticate": `Basic realm="${options.auth.realm}", charset="UTF-8"` }
            })
            : HttpServerResponse.text("Forbidden", { status: 403 })
        }
        const cookie = request.cookies[csrfCookie]
        const token = csrf.isValid(cookie) ? cookie! : csrf.issue()
        const base = basePath(request)
        const flash = decodeFlash(request.cookies[flashCookie])
        const view: View = { base, here: request.url, csrf: token, now: yield* Clock.currentTimeMillis, flash, title }
        const response = yield* handle(view, request).pipe(
          Effect.catchAll((error) =>
            Effect.as(
              Effect.logError("steady-queue dashboard: request failed", error),
              page(Pages.messagePage(view, "Something went wrong", "The dashboard could not read the queue database; see the server log."), 500)
            )
          )
        )
        const cookiePath = base === "" ? "/" : base
        const withToken = token === cookie
          ? response
          : HttpServerResponse.unsafeSetCookie(response, csrfCookie, token, {
            httpOnly: true,
            sameSite: "strict",
            path: cookiePath
          })
        // A POST sets the next message itself; clearing the old one here would overwrite it.
        const withFlash = Option.isSome(flash) && request.method !== "POST"
          ? HttpServerResponse.unsafeSetCookie(withToken, flashCookie, "", { path: cookiePath, maxAge: 0, httpOnly: true, sameSite: "strict" })
          : withToken
        return HttpServerResponse.setHeaders(withFlash, securityHeaders)
      })

    const getPage = (
      render: (view: View, search: URLSearchParams) => Effect.Effect<Html | undefined, unknown, HttpRouter.RouteContext>
    ) =>
      guarded((view, request) =>
        Effect.map(
          render(view, new URL(request.url, "http://dashboard").searchParams),
          (body) => body === undefined ? page(Pages.messagePage(view, "Not found", "There is no such page or job."), 404) : page(body)
        )
      )

    /**
     * A state change: CSRF-checked, then redirected back (303) with a one-time message. Expected failures (a job
     * no longer failed, a bad queue name) become that message; anything else is a server error.
     */
    const post = (
      perform: (form: UrlParams.UrlParams, params: Readonly<Record<string, string | undefined>>) => Effect.Effect<string, unknown>
    ) =>
      guarded((view, request) =>
        Effect.gen(function*() {
          const refused = page(Pages.messagePage(view, "Form expired", "The form was not sent from this dashboard, or it has expired. Go back, reload the page and try again."), 403)
          // What needs no body first: where the request comes from and the cookie's signature; then the body, bounded.
          const cookie = request.cookies[csrfCookie]
          if (isCrossSite(request) || !csrf.isValid(cookie)) return refused
          const body = yield* readForm(request)
          if (body._tag === "TooLarge") {
            // The rest of the body is not read: close the connection rather than keep it for another request.
            return HttpServerResponse.setHeader(
              page(Pages.messagePage(view, "Request too large", `A form is at most ${maxFormBytes / 1024} KiB.`), 413),
              "connection",
              "close"
            )
          }
          if (body._tag === "Unreadable") return page(Pages.messagePage(view, "Bad request", "The form could not be read."), 400)
          const form = body.params
          if (!csrf.verify(cookie, Option.getOrUndefined(UrlParams.getFirst(form, csrfField)))) return refused
          const params = yield* HttpRouter.params
          const flash: Flash = yield* perform(form, params).pipe(
            Effect.map((message): Flash => ({ kind: "notice", message })),
            Effect.catchIf(isExpected, (e) => Effect.succeed<Flash>({ kind: "error", message: e.message }))
          )
          const target = sameOrigin(view.base + safeReturn(Option.getOrUndefined(UrlParams.getFirst(form, "return_to"))))
          return HttpServerResponse.unsafeSetCookie(
            HttpServerResponse.redirect(target, { status: 303 }),
            flashCookie,
            encodeFlash(flash),
            { path: view.base === "" ? "/" : view.base, httpOnly: true, sameSite: "strict", maxAge: "60 seconds" }
          )
        })
      )

    const formText = (form: UrlParams.UrlParams, name: string) => text(Option.getOrNull(UrlParams.getFirst(form, name)))

    const jobAction = (run: (id: number) => Effect.Effect<string, unknown>) =>
      post((_, params) =>
        Option.match(jobIdParam(params.id), {
          onNone: () => Effect.fail(new ExpectedFailure({ message: "no such job" })),
          onSome: run
        })
      )

    const routes = HttpRouter.empty.pipe(
      HttpRouter.get("/assets/style.css", Effect.succeed(HttpServerResponse.text(stylesheet, {
        contentType: "text/css; charset=utf-8",
        headers: { "cache-control": "public, max-age=3600", "x-content-type-options": "nosniff" }
      }))),
      HttpRouter.get("/", getPage((view) =>
        Effect.map(
          Effect.all([admin.queues, admin.stateCounts(), admin.throughput]),
          ([queues, counts, throughput]) => Pages.queuesPage(view, queues, counts, throughput)
        )
      )),
      HttpRouter.get("/jobs", getPage((view, search) => {
        const options = listOptions(search)
        return Effect.map(
          Effect.all([admin.jobs(options), admin.stateCounts()]),
          ([jobs, counts]) => Pages.jobsPage(view, options, jobs, counts)
        )
      })),
      HttpRouter.get("/jobs/:id", getPage((view) =>
        Effect.flatMap(HttpRouter.params, (params) =>
          Option.match(jobIdParam(params.id), {
            onNone: () => Effect.succeed(undefined),
            onSome: (id) => Effect.map(admin.job(id), Option.match({ onNone: () => undefined, onSome: (job) => Pages.jobPage(view, job) }))
          }))
      )),
      HttpRouter.get("/processes", getPage((view) => Effect.map(admin.processes, (ps) => Pages.processesPage(view, ps)))),
      HttpRouter.get("/recurring", getPage((view) => Effect.map(admin.recurringTasks, (ts) => Pages.recurringPage(view, ts)))),
      HttpRouter.post("/queues/pause", post((form) => {
        const queue = formText(form, "queue") ?? ""
        return Effect.as(admin.pause(queue), `Paused queue ${queue}`)
      })),
      HttpRouter.post("/queues/resume", post((form) => {
        const queue = formText(form, "queue") ?? ""
        return Effect.as(admin.resume(queue), `Resumed queue ${queue}`)
      })),
      HttpRouter.post("/jobs/retry-all", post((form) =>
        Effect.map(
          admin.retryAll({ queue: formText(form, "queue"), task: formText(form, "task") }),
          (n) => `Retried ${plural(n, "job")}`
        )
      )),
      HttpRouter.post("/jobs/discard-all", post((form) => {
        const state = formText(form, "state") ?? "failed"
        if (state !== "failed" && state !== "ready" && state !== "scheduled" && state !== "blocked") {
          return Effect.fail(new ExpectedFailure({ message: `jobs ${state} cannot be discarded in bulk` }))
        }
        return Effect.map(
          admin.discardAll({ state, queue: formText(form, "queue"), task: formText(form, "task") }),
          (n) => `Discarded ${plural(n, "job")}`
        )
      })),
      HttpRouter.post("/jobs/:id/retry", jobAction((id) => Effect.as(admin.retry(id), `Retried job ${id}`))),
      HttpRouter.post("/jobs/:id/discard", jobAction((id) => Effect.as(admin.discard(id), `Discarded job ${id}`))),
      HttpRouter.post("/jobs/:id/run", jobAction((id) => Effect.as(admin.runNow(id), `Job ${id} is due now`))),
      HttpRouter.post("/recurring/run", post((form) => {
        const key = formText(form, "key") ?? ""
        return Effect.map(admin.runRecurringNow(key), (job) => `Enqueued job ${job.id} for recurring task ${key}`)
      })),
      // Anything else: nothing to see, and no other method changes anything. (HEAD is left to fall back to GET.)
      HttpRouter.get("*", Effect.succeed(HttpServerResponse.text("Not found", { status: 404 }))),
      HttpRouter.post("*", Effect.succeed(methodNotAllowed)),
      HttpRouter.put("*", Effect.succeed(methodNotAllowed)),
      HttpRouter.patch("*", Effect.succeed(methodNotAllowed)),
      HttpRouter.del("*", Effect.succeed(methodNotAllowed)),
      HttpRouter.options("*", Effect.succeed(methodNotAllowed))
    )
    return routes
  })

/** Mounts the dashboard at `path` on `HttpRouter.Default`; serve that router with `HttpRouter.Default.unwrap`. */
export const layer = <R = never>(
  options: DashboardOptions<R> & { readonly path: `/${string}` }
): Layer.Layer<never, InvalidConfigError, Admin | R> =>
  HttpRouter.Default.use((main) => Effect.flatMap(router(options), (dashboard) => main.mount(options.path, dashboard)))

export interface ServeOptions<R> extends DashboardOptions<R> {
  readonly port: number
  /** Interface to listen on; default 127.0.0.1. */
  readonly host?: string
}

/** The dashboard alone, on its own HTTP server (what `npx steady-queue dashboard` runs). */
export const serve = <R = never>(
  options: ServeOptions<R>
): Layer.Layer<never, ServeError | InvalidConfigError, Admin | R> =>
  Layer.unwrapEffect(Effect.map(router(options), (app) => HttpServer.serve(app, HttpMiddleware.logger))).pipe(
    HttpServer.withLogAddress,
    Layer.provide(NodeHttpServer.layer(createServer, { port: options.port, host: options.host ?? "127.0.0.1" }))
  )
