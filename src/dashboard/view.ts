/**
 * The frame every dashboard page shares: layout, navigation, links under the mount path, and POST forms that
 * carry the CSRF token and the page to come back to.
 */
import { HttpServerResponse } from "@effect/platform"
import { Option } from "effect"
import { html, type Html, type Interpolation } from "./html.js"
import { csrfField } from "./csrf.js"
import type { Flash } from "./flash.js"

export interface View {
  /** Where the dashboard is mounted, "" when at the root. */
  readonly base: string
  /** This page, relative to `base`, with its query. */
  readonly here: string
  readonly csrf: string
  readonly now: number
  readonly flash: Option.Option<Flash>
  readonly title: string
}

/** A page as the response. */
export const htmlResponse = (body: Html, status = 200): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(body.value, { status, contentType: "text/html; charset=utf-8" })

export type Query = Record<string, string | number | undefined>

/** A link to a dashboard path; empty query values are left out. */
export const link = (view: View, path: string, query: Query = {}): string => {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== "") params.set(key, String(value))
  }
  const search = params.toString()
  return `${view.base}${path}${search === "" ? "" : `?${search}`}`
}

/** What every dashboard form posts besides its own fields: the CSRF token and the page to come back to. */
export const formFields = (view: View): Html =>
  html`<input type="hidden" name="${csrfField}" value="${view.csrf}">
    <input type="hidden" name="return_to" value="${view.here}">`

/** A button that POSTs to a dashboard action. */
export const action = (
  view: View,
  path: string,
  label: string,
  fields: Record<string, string | number | undefined> = {},
  style: "primary" | "danger" | "" = ""
): Html =>
  html`<form class="inline" method="post" action="${link(view, path)}">
    ${formFields(view)}
    ${Object.entries(fields).map(([name, value]) =>
    value === undefined ? "" : html`<input type="hidden" name="${name}" value="${String(value)}">`
  )}
    <button type="submit" class="${style}">${label}</button>
  </form>`

const navItems = [
  ["/", "Queues"],
  ["/jobs", "Jobs"],
  ["/processes", "Processes"],
  ["/recurring", "Recurring tasks"]
] as const

export const layout = (view: View, active: string, body: Interpolation): Html =>
  html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${view.title}</title>
<link rel="stylesheet" href="${link(view, "/assets/style.css")}">
</head>
<body>
<header>
  <span class="brand">${view.title}</span>
  <nav>${navItems.map(([path, label]) => html`<a href="${link(view, path)}" class="${path === active ? "active" : ""}">${label}</a>`)}</nav>
</header>
<main>
${
    Option.match(view.flash, {
      onNone: () => "",
      onSome: (f) => html`<div class="flash ${f.kind === "error" ? "error" : ""}" role="status">${f.message}</div>`
    })
  }
${body}
</main>
</body>
</html>`
