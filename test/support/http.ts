/**
 * A small browser stand-in for HTTP-level dashboard tests: calls the dashboard's handler in-process, keeps its
 * cookies, and fills in the CSRF token the way a form on the page would.
 */
import { HttpApp, type HttpRouter } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { Effect, type Runtime } from "effect"
import { JobError } from "../../src/JobError.js"

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: string
}

export const makeBrowser = <R>(runtime: Runtime.Runtime<R>, app: HttpRouter.HttpRouter, authorization?: string) => {
  const handler = HttpApp.toWebHandlerRuntime(runtime)(app)
  const cookies = new Map<string, string>()

  const send = (path: string, init: RequestInit = {}) =>
    Effect.promise(async (): Promise<Reply> => {
      const headers = new Headers(init.headers)
      if (authorization !== undefined && !headers.has("authorization")) headers.set("authorization", authorization)
      if (cookies.size > 0 && !headers.has("cookie")) {
        headers.set("cookie", [...cookies].map(([k, v]) => `${k}=${v}`).join("; "))
      }
      const response = await handler(new Request(`http://dashboard.test${path}`, { ...init, headers, redirect: "manual" }))
      for (const line of response.headers.getSetCookie()) {
        const [pair, ...attributes] = line.split(";")
        const eq = pair.indexOf("=")
        const name = pair.slice(0, eq).trim()
        const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a))
        if (expired) cookies.delete(name)
        else cookies.set(name, pair.slice(eq + 1).trim())
      }
      return { status: response.status, headers: response.headers, body: await response.text() }
    })

  const get = (path: string, headers: Record<string, string> = {}) => send(path, { headers })

  /** POSTs a form; the CSRF token is the one from the cookie unless `csrf` says otherwise. */
  const post = (
    path: string,
    fields: Record<string, string> = {},
    options: { readonly csrf?: string | null; readonly headers?: Record<string, string> } = {}
  ) => {
    const form = new URLSearchParams({ return_to: "/", ...fields })
    const token = options.csrf === undefined ? cookies.get("steady_queue_csrf") : options.csrf
    if (token !== null && token !== undefined) form.set("_csrf", token)
    return send(path, {
      method: "POST",
      body: form.toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", ...options.headers }
    })
  }

  return { send, get, post, cookies }
}

/** Marks a ready job failed with `error`, as a worker would have (without running one). */
export const failJob = (
  jobId: number,
  error: { readonly tag: string; readonly message: string; readonly stack?: string },
  at = Date.now()
) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`DELETE FROM steady_queue_ready_executions WHERE job_id = ${jobId}`
    const text = JobError.encodeJson(new JobError({ tag: error.tag, message: error.message, stack: error.stack ?? null }))
    yield* sql`INSERT INTO steady_queue_failed_executions (job_id, error, created_at) VALUES (${jobId}, ${text}, ${at})`
  }).pipe(Effect.orDie)
