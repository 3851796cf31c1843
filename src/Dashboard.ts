/**
 * The operator dashboard: queues, jobs by state, a job's page, processes, recurring tasks and a chart of the last
 * hour, with retry, discard, run-now, cancel, pause and resume. Server-rendered HTML, no script, no external requests.
 *
 * Mount it in your own `@effect/platform` HTTP server (`Dashboard.layer` on `HttpRouter.Default`, or
 * `Dashboard.router` into any router), or run it alone (`Dashboard.serve`, `npx steady-queue dashboard`).
 * Authentication is required in the options: HTTP basic auth, your own check, or an explicit `noAuth`.
 */
import { HttpMiddleware, HttpRouter, HttpServer } from "@effect/platform"
import type { ServeError } from "@effect/platform/HttpServerError"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Redacted } from "effect"
import { createServer } from "node:http"
import { Admin } from "./Admin.js"
import { InvalidConfigError } from "./Errors.js"
import { type Auth, requireAuth } from "./dashboard/auth.js"
import { csrfToken, makeCsrf, protectForms } from "./dashboard/csrf.js"
import { renderFailures } from "./dashboard/failures.js"
import { flashMessages } from "./dashboard/flash.js"
import { withSecurityHeaders } from "./dashboard/headers.js"
import { provideView } from "./dashboard/request.js"
import { actions, pages, publicRoutes } from "./dashboard/routes.js"

export { type Auth, authenticate, basicAuth, noAuth } from "./dashboard/auth.js"

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

/**
 * The dashboard as a router, to mount with `HttpRouter.mount("/jobs", router)`. Links follow the mount path.
 *
 * Around every page and action, outermost first: security headers, authentication, the CSRF cookie, the
 * one-time message, the request's view, failures as pages; around actions also the CSRF check of their form.
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
    const guarded = HttpRouter.concat(pages(admin), HttpRouter.use(actions(admin), protectForms(csrf))).pipe(
      HttpRouter.use(renderFailures),
      HttpRouter.use(provideView(options.title ?? "steady-queue")),
      HttpRouter.use(flashMessages),
      HttpRouter.use(csrfToken(csrf)),
      HttpRouter.use(requireAuth(options.auth, context)),
      HttpRouter.use(withSecurityHeaders)
    )
    return HttpRouter.concat(publicRoutes, guarded)
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
