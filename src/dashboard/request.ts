/**
 * What every page and action of a request needs: the view (mount path, CSRF token, message, time), built once
 * by middleware after authentication.
 */
import { HttpServerRequest, type HttpServerResponse } from "@effect/platform"
import { Clock, Context, Effect } from "effect"
import { CsrfToken } from "./csrf.js"
import { IncomingFlash } from "./flash.js"
import { basePath } from "./paths.js"
import type { View } from "./view.js"

export class CurrentView extends Context.Tag("steady-queue/dashboard/CurrentView")<CurrentView, View>() {}

/** Middleware: gives `app` the request's view. */
export const provideView = (title: string) =>
<E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  E,
  Exclude<R, CurrentView> | HttpServerRequest.HttpServerRequest | CsrfToken | IncomingFlash
> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const view: View = {
      base: basePath(request),
      here: request.url,
      csrf: yield* CsrfToken,
      now: yield* Clock.currentTimeMillis,
      flash: yield* IncomingFlash,
      title
    }
    return yield* Effect.provideService(app, CurrentView, view)
  })
