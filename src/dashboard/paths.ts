/**
 * Where the dashboard is mounted, and where a redirect may go: links, cookies and redirects follow the mount
 * path, and a return address never leaves the dashboard.
 */
import type { HttpServerRequest } from "@effect/platform"

/** Where the dashboard is mounted ("" at the root): the part of the original URL the router stripped. */
export const basePath = (request: HttpServerRequest.HttpServerRequest): string => {
  // The original URL may be absolute (requests made from web `Request`s).
  const pathname = (u: string) => new URL(u, "http://dashboard").pathname
  const original = pathname(request.originalUrl)
  const local = pathname(request.url)
  if (local === "/" && !original.endsWith("/")) return original
  return original.endsWith(local) ? original.slice(0, original.length - local.length) : ""
}

/** The path the dashboard's cookies are scoped to. */
export const cookiePath = (base: string): string => (base === "" ? "/" : base)

/**
 * A return address must stay inside the dashboard: a path (normalised, no control characters, no backslash) and
 * its query. Normalising can make a protocol-relative `//host` out of `/.//host` or `/a/..//host`, so leading
 * slashes are collapsed after it.
 */
export const safeReturn = (path: string | undefined): string => {
  if (path === undefined || !path.startsWith("/") || /[\x00-\x1f\x7f\\]/.test(path)) return "/"
  const url = new URL(path, "http://dashboard")
  if (url.origin !== "http://dashboard") return "/"
  const local = url.pathname.replace(/^\/+/, "/") + url.search
  return /^\/[^/\\]|^\/$/.test(local) ? local : "/"
}

/** The last word on a Location: a path on this origin, never `//host` or `/\\host`, whatever the mount path was. */
export const sameOrigin = (location: string): string => (/^\/(?![/\\])/.test(location) ? location : "/")
