/**
 * The dashboard's pages, rendered on the server from what `Admin` reads.
 */
import { Option } from "effect"
import type {
  JobDetail,
  JobPage,
  ListOptions,
  MinuteCount,
  ProcessInfo,
  QueueOverview,
  RecurringInfo,
  StateCount
} from "../Admin.js"
import { type AttemptInfo, DiscardableStates, type JobState } from "../Domain.js"
import { throughputChart } from "./chart.js"
import { duration, optional, relative, timestamp } from "./format.js"
import { html, type Html } from "./html.js"
import { action, formFields, layout, link, type View } from "./view.js"

export const stateLabels: Record<JobState, string> = {
  ready: "Ready",
  scheduled: "Scheduled",
  claimed: "In progress",
  blocked: "Blocked",
  failed: "Failed",
  finished: "Finished",
  cancelled: "Cancelled"
}

const time = (view: View, date: Date) => html`<time datetime="${date.toISOString()}" title="${timestamp(date)}">${relative(date, view.now)}</time>`

const countLabel = (c: StateCount) => `${c.count.toLocaleString("en-US")}${c.capped ? "+" : ""}`

const stateCards = (view: View, counts: ReadonlyArray<StateCount>) =>
  html`<div class="cards">${
    counts.map((c) =>
      html`<a class="card" href="${link(view, "/jobs", { state: c.state })}"><div class="n">${countLabel(c)}</div><div class="label">${
        stateLabels[c.state]
      }</div></a>`
    )
  }</div>`

export const queuesPage = (
  view: View,
  queues: ReadonlyArray<QueueOverview>,
  counts: ReadonlyArray<StateCount>,
  throughput: ReadonlyArray<MinuteCount>
): Html =>
  layout(
    view,
    "/",
    html`<h1>Queues</h1>
  ${stateCards(view, counts)}
  <h2>Last hour</h2>
  ${throughputChart(throughput)}
  <h2>Queues</h2>
  <table>
    <thead><tr><th>Queue</th><th class="num">Ready jobs</th><th class="num">Latency</th><th>Status</th><th></th></tr></thead>
    <tbody>${
      queues.length === 0
        ? html`<tr><td colspan="5" class="muted">No queue has ready jobs.</td></tr>`
        : queues.map((q) =>
          html`<tr data-queue="${q.name}">
        <td><a href="${link(view, "/jobs", { state: "ready", queue: q.name })}">${q.name}</a></td>
        <td class="num">${q.size.toLocaleString("en-US")}</td>
        <td class="num">${optional(q.latencyMs, duration)}</td>
        <td>${q.paused ? html`<span class="badge paused">paused</span>` : html`<span class="badge ok">running</span>`}</td>
        <td>${
            q.paused
              ? action(view, "/queues/resume", "Resume", { queue: q.name }, "primary")
              : action(view, "/queues/pause", "Pause", { queue: q.name })
          }</td>
      </tr>`
        )
    }</tbody>
  </table>
  <form class="bar" method="post" action="${link(view, "/queues/pause")}">
    ${formFields(view)}
    <label>Pause a queue by name <input type="text" name="queue" required maxlength="255"></label>
    <button type="submit">Pause</button>
  </form>`
  )

const filterForm = (view: View, options: ListOptions) =>
  html`<form class="bar" method="get" action="${link(view, "/jobs")}">
    <input type="hidden" name="state" value="${options.state}">
    <label>Queue <input type="text" name="queue" value="${options.queue ?? ""}"></label>
    <label>Task <input type="text" name="task" value="${options.task ?? ""}"></label>
    <button type="submit">Filter</button>
    ${
    options.queue !== undefined || options.task !== undefined
      ? html`<a href="${link(view, "/jobs", { state: options.state })}">Clear</a>`
      : ""
  }
  </form>`

const bulkActions = (view: View, options: ListOptions) => {
  const fields = { state: options.state, queue: options.queue, task: options.task }
  const scope = options.queue !== undefined || options.task !== undefined ? "matching" : "all"
  return html`<div class="bar">${
    options.state === "failed" ? action(view, "/jobs/retry-all", `Retry ${scope} failed`, fields, "primary") : ""
  }${
    isDiscardable(options.state)
      ? action(view, "/jobs/discard-all", `Discard ${scope} ${stateLabels[options.state].toLowerCase()}`, fields, "danger")
      : ""
  }</div>`
}

const isDiscardable = (state: JobState) => (DiscardableStates as ReadonlyArray<JobState>).includes(state)

/** What an operator can do to a job in each state; a running job asked to stop already is not offered it again. */
const rowActions = (view: View, state: JobState, id: number, cancelRequested = false) => {
  const cancel = action(view, `/jobs/${id}/cancel`, "Cancel")
  const discard = action(view, `/jobs/${id}/discard`, "Discard", {}, "danger")
  switch (state) {
    case "failed":
      return html`${action(view, `/jobs/${id}/retry`, "Retry", {}, "primary")} ${discard}`
    case "scheduled":
      return html`${action(view, `/jobs/${id}/run`, "Run now", {}, "primary")} ${cancel} ${discard}`
    case "ready":
    case "blocked":
      return html`${cancel} ${discard}`
    case "claimed":
      return cancelRequested ? "" : cancel
    case "finished":
    case "cancelled":
      return ""
  }
}

/** Which run of the job it is or was: 1 on its first (`attempts` counts the retries). */
const attemptOf = (job: { readonly attempts: number }) => job.attempts + 1

const sinceHeading: Record<JobState, string> = {
  ready: "Ready since",
  scheduled: "Runs",
  claimed: "Started",
  blocked: "Blocked since",
  failed: "Failed",
  finished: "Finished",
  cancelled: "Cancelled"
}

export const jobsPage = (view: View, options: ListOptions, page: JobPage, counts: ReadonlyArray<StateCount>): Html =>
  layout(
    view,
    "/jobs",
    html`<h1>Jobs</h1>
  <div class="tabs">${
      counts.map((c) =>
        html`<a href="${link(view, "/jobs", { state: c.state, queue: options.queue, task: options.task })}" class="${
          c.state === options.state ? "active" : ""
        }">${stateLabels[c.state]}<span class="count">${countLabel(c)}</span></a>`
      )
    }</div>
  ${filterForm(view, options)}
  ${bulkActions(view, options)}
  <table>
    <thead><tr><th class="num">Id</th><th>Task</th><th>Queue</th><th class="num">Priority</th><th class="num">Attempt</th><th>${
      sinceHeading[options.state]
    }</th><th>${options.state === "failed" ? "Error" : options.state === "claimed" ? "Process" : options.state === "blocked" ? "Concurrency key" : ""}</th><th></th></tr></thead>
    <tbody>${
      page.jobs.length === 0
        ? html`<tr><td colspan="8" class="muted">No jobs.</td></tr>`
        : page.jobs.map((j) =>
          html`<tr data-job-id="${j.id}">
        <td class="num"><a href="${link(view, `/jobs/${j.id}`)}">${j.id}</a></td>
        <td>${j.taskName}</td>
        <td><a href="${link(view, "/jobs", { state: options.state, queue: j.queueName, task: options.task })}">${j.queueName}</a></td>
        <td class="num">${j.priority}</td>
        <td class="num">${attemptOf(j)}</td>
        <td>${time(view, options.state === "scheduled" ? j.scheduledAt : j.since)}</td>
        <td>${
            options.state === "failed"
              ? optional(j.error, (e) => `${e.tag}: ${e.message.split("\n")[0]}`)
              : options.state === "claimed"
              ? optional(j.processId, (id) => `process ${id}`)
              : options.state === "blocked"
              ? optional(j.concurrencyKey, (k) => k)
              : ""
          }</td>
        <td>${rowActions(view, options.state, j.id)}</td>
      </tr>`
        )
    }</tbody>
  </table>
  <div class="pager">
    ${options.before !== undefined ? html`<a href="${link(view, "/jobs", { state: options.state, queue: options.queue, task: options.task })}">Newest</a>` : ""}
    ${
      Option.match(page.next, {
        onNone: () => "",
        onSome: (before) =>
          html`<a rel="next" href="${link(view, "/jobs", { state: options.state, queue: options.queue, task: options.task, before })}">Older</a>`
      })
    }
  </div>`
  )

const prettyJson = (text: string) => {
  try {
    return JSON.stringify(JSON.parse(text), null, 2)
  } catch {
    return text
  }
}

/** A moment on the job page: exact, and how long ago (or how soon). */
const moment = (view: View, date: Date) => `${timestamp(date)} (${relative(date, view.now)})`

const stateBadges = (job: JobDetail) =>
  html`<span class="badge ${job.state === "failed" ? "failed" : job.state === "cancelled" ? "cancelled" : ""}">${
    stateLabels[job.state]
  }</span>${job.cancelRequested ? html` <span class="badge cancelling">cancelling</span>` : ""}`

const attemptLabel = (job: JobDetail) =>
  Option.match(job.maxAttempts, { onNone: () => String(attemptOf(job)), onSome: (max) => `${attemptOf(job)} of ${max}` })

const attemptRow = (view: View, a: AttemptInfo) =>
  html`<tr data-attempt="${a.attempt}">
      <td class="num">${a.attempt}</td>
      <td><strong>${a.error.tag}</strong>: ${a.error.message}${
    a.error.stack === null ? "" : html`<details><summary>Stack</summary><pre class="error">${a.error.stack}</pre></details>`
  }</td>
      <td>${optional(a.processId, (id) => `process ${id}`)}</td>
      <td>${Option.match(a.startedAt, { onNone: () => "-", onSome: (d) => time(view, d) })}</td>
      <td>${time(view, a.finishedAt)}</td>
      <td class="num">${optional(a.startedAt, (d) => duration(a.finishedAt.getTime() - d.getTime()))}</td>
    </tr>`

const attemptsTable = (view: View, attempts: ReadonlyArray<AttemptInfo>) =>
  attempts.length === 0 ? "" : html`<h2>Failed attempts</h2>
  <table class="attempts">
    <thead><tr><th class="num">Attempt</th><th>Error</th><th>Process</th><th>Started</th><th>Finished</th><th class="num">Took</th></tr></thead>
    <tbody>${attempts.map((a) => attemptRow(view, a))}</tbody>
  </table>`

export const jobPage = (view: View, job: JobDetail): Html =>
  layout(
    view,
    "/jobs",
    html`<h1>Job ${job.id} ${stateBadges(job)}</h1>
  <div class="bar">${rowActions(view, job.state, job.id, job.cancelRequested)}</div>
  <dl>
    <dt>State</dt><dd>${stateLabels[job.state]}${job.cancelRequested ? ", cancelling: its worker was asked to stop it" : ""}</dd>
    <dt>Task</dt><dd>${job.taskName}</dd>
    <dt>Queue</dt><dd><a href="${link(view, "/jobs", { state: job.state, queue: job.queueName })}">${job.queueName}</a></dd>
    <dt>Public id</dt><dd>${job.publicId}</dd>
    <dt>Priority</dt><dd>${job.priority}</dd>
    <dt>Attempt</dt><dd>${attemptLabel(job)}</dd>
    ${Option.match(job.timeoutMs, { onNone: () => "", onSome: (ms) => html`<dt>Timeout</dt><dd>${duration(ms)}</dd>` })}
    <dt>Enqueued</dt><dd>${moment(view, job.createdAt)}</dd>
    <dt>Scheduled for</dt><dd>${moment(view, job.scheduledAt)}</dd>
    ${Option.match(job.nextRetryAt, { onNone: () => "", onSome: (d) => html`<dt>Next retry</dt><dd>${moment(view, d)}</dd>` })}
    <dt>Started</dt><dd>${optional(job.startedAt, (d) => moment(view, d))}</dd>
    <dt>Finished</dt><dd>${optional(job.finishedAt, (d) => moment(view, d))}</dd>
    <dt>Updated</dt><dd>${timestamp(job.updatedAt)}</dd>
    <dt>Concurrency key</dt><dd>${optional(job.concurrencyKey, (k) => k)}</dd>
    <dt>Process</dt><dd>${
      Option.match(job.process, {
        onNone: () => optional(job.processId, (id) => `process ${id} (no longer registered)`),
        onSome: (p) =>
          html`<a href="${link(view, "/processes")}">${p.kind} ${p.name}</a> (pid ${p.pid} on ${optional(p.hostname, (h) => h)})`
      })
    }</dd>
  </dl>
  <h2>Payload</h2>
  <pre class="payload">${prettyJson(job.arguments)}</pre>
  ${Option.match(job.result, { onNone: () => "", onSome: (r) => html`<h2>Result</h2><pre class="result">${prettyJson(r)}</pre>` })}
  ${
      Option.match(job.error, {
        onNone: () => "",
        onSome: (e) =>
          html`<h2>Error</h2><pre class="error"><strong>${e.tag}: ${e.message}</strong>${
            e.stack === null ? "" : `\n\n${e.stack}`
          }</pre>`
      })
    }
  ${attemptsTable(view, job.attemptHistory)}`
  )

/** Heartbeats older than this look stale (the default alive threshold is 5 minutes). */
const staleAfterMs = 5 * 60_000

export const processesPage = (view: View, processes: ReadonlyArray<ProcessInfo>): Html =>
  layout(
    view,
    "/processes",
    html`<h1>Processes</h1>
  <table>
    <thead><tr><th class="num">Id</th><th>Kind</th><th>Name</th><th>Host</th><th class="num">Pid</th><th>Supervisor</th><th>Started</th><th>Last heartbeat</th><th class="num">Jobs in progress</th></tr></thead>
    <tbody>${
      processes.length === 0
        ? html`<tr><td colspan="9" class="muted">No process is running.</td></tr>`
        : processes.map((p) =>
          html`<tr>
        <td class="num">${p.id}</td><td>${p.kind}</td><td>${p.name}</td><td>${optional(p.hostname, (h) => h)}</td>
        <td class="num">${p.pid}</td><td>${optional(p.supervisorId, String)}</td><td>${time(view, p.startedAt)}</td>
        <td>${duration(p.heartbeatAgeMs)} ago ${p.heartbeatAgeMs > staleAfterMs ? html`<span class="badge stale">stale</span>` : ""}</td>
        <td class="num">${p.inProgress}</td>
      </tr>`
        )
    }</tbody>
  </table>`
  )

export const recurringPage = (view: View, tasks: ReadonlyArray<RecurringInfo>): Html =>
  layout(
    view,
    "/recurring",
    html`<h1>Recurring tasks</h1>
  <table>
    <thead><tr><th>Key</th><th>Schedule</th><th>Task</th><th>Queue</th><th class="num">Priority</th><th>Kind</th><th>Last run</th><th>Next run</th><th></th></tr></thead>
    <tbody>${
      tasks.length === 0
        ? html`<tr><td colspan="9" class="muted">No recurring tasks.</td></tr>`
        : tasks.map((t) =>
          html`<tr>
        <td>${t.key}${t.description === null ? "" : html`<div class="muted">${t.description}</div>`}</td>
        <td><code>${t.schedule}</code>${t.timeZone === null ? "" : html` <span class="muted">${t.timeZone}</span>`}</td>
        <td>${t.taskName}</td><td>${t.queueName ?? "default"}</td><td class="num">${t.priority ?? 0}</td>
        <td>${t.static ? "static" : "dynamic"}</td>
        <td>${Option.match(t.lastRun, { onNone: () => "-", onSome: (d) => time(view, d) })}</td>
        <td>${Option.match(t.nextRun, { onNone: () => "-", onSome: (d) => time(view, d) })}</td>
        <td>${action(view, "/recurring/run", "Run now", { key: t.key }, "primary")}</td>
      </tr>`
        )
    }</tbody>
  </table>`
  )

export const messagePage = (view: View, heading: string, message: string): Html =>
  layout(view, "", html`<h1>${heading}</h1><p>${message}</p><p><a href="${link(view, "/")}">Back to the dashboard</a></p>`)
