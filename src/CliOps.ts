/**
 * The operators' commands: `jobs list|show|retry|discard|cancel`, `queues list|pause|resume` and `status`.
 * Results go to stdout, as aligned tables or, with `--json`, as one JSON document for scripts; problems go to
 * stderr, and the exit code is 1 whenever something asked for was not done.
 */
import { Args, Command, Options } from "@effect/cli"
import { Clock, Console, Effect, Either, Option, Schema } from "effect"
import { Admin, type JobDetail, type ListedJob, type ProcessInfo, type QueueOverview, type StateCount } from "./Admin.js"
import { duration, relative, timestamp } from "./dashboard/format.js"
import { isOperatorError, type OperatorError, type PersistenceError } from "./Errors.js"
import { type AttemptInfo, DiscardableStates, type JobState, JobStates } from "./Domain.js"
import type { JobError } from "./JobError.js"
import { databaseUrl, withServices } from "./internal/CliDatabase.js"
import { sqlClient } from "./internal/RuntimeContext.js"
import { type Column, oneLine, table } from "./internal/table.js"

/**
 * The command has already printed what went wrong and only asks for exit code 1; the message repeats it for
 * programs that run the command themselves.
 */
export class CommandFailedError extends Schema.TaggedError<CommandFailedError>()("CommandFailedError", {
  message: Schema.String
}) {}

/** Says what went wrong on stderr and fails the command. */
const fail = (message: string) =>
  Effect.zipRight(Console.error(`steady-queue: ${message}`), Effect.fail(new CommandFailedError({ message })))

// Output helpers ---------------------------------------------------------------------------------------------

/** JSON-ready values: an Option becomes its value or null, a Date its ISO string. */
const plain = (value: unknown): unknown => {
  if (Option.isOption(value)) return Option.match(value, { onNone: () => null, onSome: plain })
  if (value instanceof Date) return value.toISOString()
  if (Array.isArray(value)) return value.map(plain)
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, plain(v)]))
  }
  return value
}

const printJson = (value: unknown) => Console.log(JSON.stringify(plain(value), null, 2))

/** A titled table, or the title and "none" when there are no rows (an empty table is easy to misread). */
const section = (title: string, columns: ReadonlyArray<Column>, rows: ReadonlyArray<ReadonlyArray<string>>) =>
  `${title}\n${rows.length === 0 ? "  none" : table(columns, rows)}`

const left = (header: string): Column => ({ header })
const right = (header: string): Column => ({ header, align: "right" })

const optionally = <A>(value: Option.Option<A>, show: (a: A) => string) =>
  Option.match(value, { onNone: () => "-", onSome: show })

// Options shared by the commands -----------------------------------------------------------------------------

const json = Options.boolean("json").pipe(Options.withDescription("Print one JSON document instead of a table (default: a table)"))

const queueFilter = Options.text("queue").pipe(Options.withDescription("Only jobs in this queue (default: every queue)"), Options.optional)
const taskFilter = Options.text("task").pipe(Options.withDescription("Only jobs of this task (default: every task)"), Options.optional)

/** Users say "in-progress" for what the tables call "claimed". */
const stateName = (state: JobState): string => (state === "claimed" ? "in-progress" : state)

/** `--state`, taking the users' names (and "claimed" as well as "in-progress"). */
const stateOption = <S extends JobState>(states: ReadonlyArray<S>) =>
  Options.choiceWithValue<Array<[string, S]>>(
    "state",
    states.flatMap((s): Array<[string, S]> => s === "claimed" ? [["in-progress", s], ["claimed", s]] : [[s, s]])
  )

const ids = Args.integer({ name: "id" }).pipe(Args.withDescription("Job ids"), Args.repeated)
const all = Options.boolean("all").pipe(Options.withDescription("Every job matching --queue, --task (and --state) (default: only the ids given)"))

/** Either ids or --all; the filters only make sense with --all. Checked before connecting to the database. */
const checkSelection = (ids: ReadonlyArray<number>, all: boolean, filtered: boolean) =>
  all && ids.length > 0
    ? fail("give job ids or --all, not both")
    : !all && ids.length === 0
    ? fail("give the ids of the jobs, or --all")
    : !all && filtered
    ? fail("--queue, --task and --state go with --all")
    : Effect.void

// jobs list --------------------------------------------------------------------------------------------------

/** What `Admin.jobs` serves in one page. */
const maxLimit = 1000

/** Failed first: the state an operator lists most. */
const listStates: ReadonlyArray<JobState> = ["failed", ...JobStates.filter((s) => s !== "failed")]

/** The column that matters most for each state, after the common ones. */
const extraColumn = (state: JobState, now: number): [Column, (job: ListedJob) => string] | undefined => {
  switch (state) {
    case "failed":
      return [left("ERROR"), (job) => optionally(job.error, (e) => oneLine(`${e.tag}: ${e.message}`, 80))]
    case "scheduled":
      return [left("DUE"), (job) => relative(job.scheduledAt, now)]
    case "claimed":
      return [right("PROCESS"), (job) => optionally(job.processId, String)]
    default:
      return undefined
  }
}

const jobColumns = [right("ID"), left("TASK"), left("QUEUE"), right("PRIORITY"), right("ATTEMPT"), left("SINCE")]

/** Which run of the job it is or was: 1 on its first (`attempts` counts the retries), as the dashboard shows it. */
const attemptOf = (job: { readonly attempts: number }) => job.attempts + 1

const jobsTable = (state: JobState, jobs: ReadonlyArray<ListedJob>, now: number) => {
  const extra = extraColumn(state, now)
  const columns = extra ? [...jobColumns, extra[0]] : jobColumns
  const rows = jobs.map((job) => [
    String(job.id),
    job.taskName,
    job.queueName,
    String(job.priority),
    String(attemptOf(job)),
    relative(job.since, now),
    ...(extra ? [extra[1](job)] : [])
  ])
  return table(columns, rows)
}

const list = Command.make("list", {
  databaseUrl,
  state: stateOption(listStates).pipe(Options.withDescription("Jobs in this state (default: failed)"), Options.withDefault("failed" as const)),
  queue: queueFilter,
  task: taskFilter,
  limit: Options.integer("limit").pipe(Options.withDescription("Jobs per page, 1 to 1000 (default: 25)"), Options.withDefault(25)),
  before: Options.integer("before").pipe(Options.withDescription("Jobs older than this id, for the next page (default: from the newest)"), Options.optional),
  json
}, (o) =>
  Effect.zipRight(
    // Checked before connecting; clamping would print another page size than the one asked for.
    Number.isInteger(o.limit) && o.limit >= 1 && o.limit <= maxLimit
      ? Effect.void
      : fail(`--limit must be from 1 to ${maxLimit}, not ${o.limit}`),
    withServices(
      o.databaseUrl,
      Effect.gen(function*() {
        const admin = yield* Admin
        const page = yield* admin.jobs({
          state: o.state,
          queue: Option.getOrUndefined(o.queue),
          task: Option.getOrUndefined(o.task),
          before: Option.getOrUndefined(o.before),
          limit: o.limit
        })
        if (o.json) {
          return yield* printJson({ jobs: page.jobs.map((job) => ({ ...job, state: stateName(job.state) })), next: page.next })
        }
        if (page.jobs.length === 0) return yield* Console.log(`no ${stateName(o.state)} jobs`)
        yield* Console.log(jobsTable(o.state, page.jobs, yield* Clock.currentTimeMillis))
        if (Option.isSome(page.next)) yield* Console.log(`next page: --before ${page.next.value}`)
      })
    )
  )).pipe(Command.withDescription("List jobs in a state (default failed), newest first, a page at a time"))

// jobs retry / jobs discard / jobs cancel ---------------------------------------------------------------------

interface Refusal {
  readonly id: number
  readonly error: string
  readonly message: string
}

interface Outcome {
  readonly done: number
  readonly errors: ReadonlyArray<Refusal>
}

/**
 * Applies `action` to each job; a job it refuses is reported and the rest go on, a database error stops all.
 * Returns what it did to each job it did not refuse, in order.
 */
const eachJob = <A>(
  ids: ReadonlyArray<number>,
  action: (id: number) => Effect.Effect<A, OperatorError | PersistenceError>
) =>
  Effect.forEach(new Set(ids), (id) =>
    action(id).pipe(
      Effect.map((value) => Either.right({ id, value })),
      Effect.catchIf(isOperatorError, (e) => Effect.succeed(Either.left<Refusal>({ id, error: e._tag, message: e.message })))
    )).pipe(Effect.map((results) => ({
      done: results.flatMap((r) => Either.isRight(r) ? [r.right] : []),
      errors: results.flatMap((r) => Either.isLeft(r) ? [r.left] : [])
    })))

const counted = <A>(outcome: { readonly done: ReadonlyArray<A>; readonly errors: ReadonlyArray<Refusal> }): Outcome => ({
  done: outcome.done.length,
  errors: outcome.errors
})

/** The refusals on stderr (in JSON they are in the document), then exit code 1 if there were any. */
const refused = (errors: ReadonlyArray<Refusal>, asJson: boolean, what: string) =>
  Effect.gen(function*() {
    if (!asJson) for (const e of errors) yield* Console.error(`steady-queue: ${e.message}`)
    if (errors.length > 0) return yield* new CommandFailedError({ message: `${errors.length} job(s) not ${what}` })
  })

const report = (verb: "retried" | "discarded", asJson: boolean) => (outcome: Outcome) =>
  Effect.zipRight(
    asJson ? printJson({ [verb]: outcome.done, errors: outcome.errors }) : Console.log(`${verb} ${outcome.done} job(s)`),
    refused(outcome.errors, asJson, verb)
  )

const retry = Command.make("retry", { databaseUrl, ids, all, queue: queueFilter, task: taskFilter, json }, (o) =>
  Effect.zipRight(
    checkSelection(o.ids, o.all, Option.isSome(o.queue) || Option.isSome(o.task)),
    withServices(
      o.databaseUrl,
      Effect.gen(function*() {
        if (!o.all) return counted(yield* eachJob(o.ids, (yield* Admin).retry))
        const done = yield* (yield* Admin).retryAll({
          queue: Option.getOrUndefined(o.queue),
          task: Option.getOrUndefined(o.task)
        })
        return { done, errors: [] }
      }).pipe(Effect.flatMap(report("retried", o.json)))
    )
  )).pipe(Command.withDescription("Retry failed jobs: the given ids, or --all (filtered by --queue and --task)"))

const discardStates = DiscardableStates

const discard = Command.make("discard", {
  databaseUrl,
  ids,
  all,
  state: stateOption(discardStates).pipe(Options.withDescription("With --all: jobs in this state (default: failed)"), Options.optional),
  queue: queueFilter,
  task: taskFilter,
  json
}, (o) =>
  Effect.zipRight(
    checkSelection(o.ids, o.all, Option.isSome(o.state) || Option.isSome(o.queue) || Option.isSome(o.task)),
    withServices(
      o.databaseUrl,
      Effect.gen(function*() {
        if (!o.all) return counted(yield* eachJob(o.ids, (yield* Admin).discard))
        const done = yield* (yield* Admin).discardAll({
          state: Option.getOrElse(o.state, () => "failed" as const),
          queue: Option.getOrUndefined(o.queue),
          task: Option.getOrUndefined(o.task)
        })
        return { done, errors: [] }
      }).pipe(Effect.flatMap(report("discarded", o.json)))
    )
  )).pipe(
    Command.withDescription("Delete jobs: the given ids, or --all in --state (default failed) filtered by --queue and --task")
  )

/** What cancelling did to a job, as a line of output. */
const cancelOutcome: Record<"cancelled" | "requested" | "ended", (id: number) => string> = {
  cancelled: (id) => `cancelled job ${id}`,
  requested: (id) => `job ${id} is running: asked its worker to stop it`,
  ended: (id) => `job ${id} had already ended`
}

const cancel = Command.make("cancel", { databaseUrl, ids, json }, (o) =>
  Effect.zipRight(
    o.ids.length === 0 ? fail("give the ids of the jobs") : Effect.void,
    withServices(
      o.databaseUrl,
      Effect.gen(function*() {
        const outcome = yield* eachJob(o.ids, (yield* Admin).cancel)
        if (o.json) {
          yield* printJson({ jobs: outcome.done.map(({ id, value }) => ({ id, outcome: value })), errors: outcome.errors })
        } else {
          for (const { id, value } of outcome.done) yield* Console.log(cancelOutcome[value](id))
        }
        return yield* refused(outcome.errors, o.json, "cancelled")
      })
    )
  )).pipe(
    Command.withDescription(
      "Cancel jobs: one waiting (ready, scheduled, blocked) ends cancelled now, a running one is stopped by its worker"
    )
  )

// jobs show --------------------------------------------------------------------------------------------------

/** Stored JSON (a payload, a result) as the value it encodes; the text itself if it is not JSON. */
const parsedJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

const jobJson = (job: JobDetail) => ({
  ...job,
  state: stateName(job.state),
  arguments: parsedJson(job.arguments),
  result: Option.map(job.result, parsedJson)
})

/** "2026-11-23 12:00:05 UTC (3m 4s ago)". */
const moment = (date: Date, now: number) => `${timestamp(date)} (${relative(date, now)})`

/** Label and value lines, the values aligned; an empty value leaves its line out. */
const fields = (rows: ReadonlyArray<readonly [string, string | undefined]>) => {
  const shownRows = rows.flatMap(([label, value]) => (value === undefined ? [] : [[label, value] as const]))
  const width = Math.max(...shownRows.map(([label]) => label.length))
  return shownRows.map(([label, value]) => `${label.padEnd(width)}  ${shown(value)}`).join("\n")
}

/** A titled block of text, indented, each line shown safely. */
const block = (title: string, text: string) => `${title}\n${text.split(/\r?\n/).map((line) => `  ${shown(line)}`).join("\n")}`

const pretty = (text: string) => {
  const value = parsedJson(text)
  return value === text ? text : JSON.stringify(value, null, 2)
}

const attemptColumns = [right("ATTEMPT"), left("PROCESS"), left("STARTED"), left("FINISHED"), right("TOOK"), left("ERROR")]

const attemptRow = (a: AttemptInfo) => [
  String(a.attempt),
  optionally(a.processId, String),
  optionally(a.startedAt, timestamp),
  timestamp(a.finishedAt),
  optionally(a.startedAt, (d) => duration(a.finishedAt.getTime() - d.getTime())),
  oneLine(`${a.error.tag}: ${a.error.message}`, 80)
]

/** An error's tag and message, then its stack (which often repeats them as its first line). */
const errorText = (e: JobError) => {
  const headline = `${e.tag}: ${e.message}`
  return e.stack === null ? headline : e.stack.startsWith(headline) ? e.stack : `${headline}\n${e.stack}`
}

const processText = (job: JobDetail) =>
  Option.match(job.process, {
    onNone: () => optionally(job.processId, (id) => `${id} (no longer registered)`),
    onSome: (p) => `${p.id} (${p.kind} ${p.name}, pid ${p.pid} on ${optionally(p.hostname, String)})`
  })

const jobText = (job: JobDetail, now: number) => {
  const whenSome = <A>(value: Option.Option<A>, show: (a: A) => string) => Option.getOrUndefined(Option.map(value, show))
  const parts = [
    fields([
      ["job", String(job.id)],
      ["state", `${stateName(job.state)}${job.cancelRequested ? " (cancelling: its worker was asked to stop it)" : ""}`],
      ["task", job.taskName],
      ["queue", job.queueName],
      ["public id", job.publicId],
      ["priority", String(job.priority)],
      ["attempt", Option.match(job.maxAttempts, { onNone: () => String(attemptOf(job)), onSome: (max) => `${attemptOf(job)} of ${max}` })],
      ["timeout", whenSome(job.timeoutMs, duration)],
      ["enqueued", moment(job.createdAt, now)],
      ["scheduled for", moment(job.scheduledAt, now)],
      ["next retry", whenSome(job.nextRetryAt, (d) => moment(d, now))],
      ["started", optionally(job.startedAt, (d) => moment(d, now))],
      ["finished", optionally(job.finishedAt, (d) => moment(d, now))],
      ["concurrency key", optionally(job.concurrencyKey, String)],
      ["process", processText(job)]
    ]),
    block("Payload", pretty(job.arguments)),
    ...Option.toArray(Option.map(job.result, (r) => block("Result", pretty(r)))),
    ...Option.toArray(Option.map(job.error, (e) => block("Error", errorText(e)))),
    ...(job.attemptHistory.length === 0 ? [] : [section("Failed attempts", attemptColumns, job.attemptHistory.map(attemptRow))])
  ]
  return parts.join("\n\n")
}

const show = Command.make("show", { databaseUrl, id: Args.integer({ name: "id" }).pipe(Args.withDescription("Job id")), json }, (o) =>
  withServices(
    o.databaseUrl,
    Effect.gen(function*() {
      const job = yield* (yield* Admin).job(o.id)
      if (Option.isNone(job)) return yield* fail(`job ${o.id} does not exist`)
      if (o.json) return yield* printJson(jobJson(job.value))
      yield* Console.log(jobText(job.value, yield* Clock.currentTimeMillis))
    })
  )).pipe(
    Command.withDescription(
      "One job in full: state, times, payload, result, last error and every failed attempt (--json: payload and result as JSON values)"
    )
  )

const jobs = Command.make("jobs").pipe(
  Command.withDescription("List, show, retry, discard and cancel jobs"),
  Command.withSubcommands([list, show, retry, discard, cancel])
)

// queues -----------------------------------------------------------------------------------------------------

const queueColumns = [left("NAME"), right("SIZE"), right("LATENCY"), left("PAUSED")]

const queueRow = (q: QueueOverview) => [q.name, String(q.size), optionally(q.latencyMs, duration), q.paused ? "yes" : "no"]

const queuesList = Command.make("list", { databaseUrl, json }, (o) =>
  withServices(
    o.databaseUrl,
    Effect.gen(function*() {
      const queues = yield* (yield* Admin).queues
      if (o.json) return yield* printJson({ queues })
      yield* Console.log(queues.length === 0 ? "no queues" : table(queueColumns, queues.map(queueRow)))
    })
  )).pipe(Command.withDescription("Queues with ready jobs, or paused: size, latency of the oldest job, paused"))

const queueArg = Args.text({ name: "queue" }).pipe(Args.withDescription("Queue name"))

/** A name as the terminal may show it: control characters as "?" (a name is refused for them, but is echoed). */
const shown = (name: string) => name.replace(/[\x00-\x1f\x7f-\x9f]/g, "?")

/** Whether any job (not yet cleared by retention) was ever enqueued on `queue`. */
const hasJobs = (queue: string) =>
  Effect.flatMap(sqlClient, (sql) => sql`SELECT 1 AS x FROM steady_queue_jobs WHERE queue_name = ${queue} LIMIT 1`).pipe(
    Effect.map((rows) => rows.length > 0)
  )

const pauseOrResume = (action: "pause" | "resume") =>
  Command.make(action, { databaseUrl, queue: queueArg }, (o) =>
    withServices(
      o.databaseUrl,
      Effect.gen(function*() {
        const admin = yield* Admin
        const name = shown(o.queue)
        const wasPaused = (yield* admin.pausedQueues).includes(o.queue)
        yield* (action === "pause" ? admin.pause(o.queue) : admin.resume(o.queue)).pipe(
          Effect.catchTag("InvalidQueueNameError", (e) => fail(`cannot ${action} "${name}": ${e.message}`))
        )
        if (action === "pause") {
          yield* Console.log(wasPaused ? `queue ${name} was already paused` : `paused queue ${name}`)
          // Pausing ahead of the first job is allowed, but it is more often a typo.
          if (!(yield* hasJobs(o.queue))) {
            yield* Console.error(`steady-queue: warning: queue ${name} has no jobs; check the name (workers will skip it once jobs arrive)`)
          }
        } else {
          yield* Console.log(wasPaused ? `resumed queue ${name}` : `queue ${name} was not paused`)
        }
      })
    )).pipe(
      Command.withDescription(
        action === "pause"
          ? "Stop workers from taking jobs from a queue (enqueueing goes on)"
          : "Let workers take jobs from a paused queue again"
      )
    )

const queues = Command.make("queues").pipe(
  Command.withDescription("List, pause and resume queues"),
  Command.withSubcommands([queuesList, pauseOrResume("pause"), pauseOrResume("resume")])
)

// status -----------------------------------------------------------------------------------------------------

const processColumns = [left("KIND"), left("NAME"), right("PID"), left("HOST"), right("HEARTBEAT"), right("JOBS")]

const processRow = (p: ProcessInfo) => [
  p.kind,
  p.name,
  String(p.pid),
  optionally(p.hostname, String),
  `${duration(p.heartbeatAgeMs)} ago`,
  String(p.inProgress)
]

const countColumns = [left("STATE"), right("COUNT")]

const countRow = (c: StateCount) => [stateName(c.state), c.capped ? `${c.count}+` : String(c.count)]

const status = Command.make("status", { databaseUrl, json }, (o) =>
  withServices(
    o.databaseUrl,
    Effect.gen(function*() {
      const admin = yield* Admin
      const processes = yield* admin.processes
      const queues = yield* admin.queues
      const counts = yield* admin.stateCounts()
      if (o.json) {
        return yield* printJson({ processes, queues, states: counts.map((c) => ({ ...c, state: stateName(c.state) })) })
      }
      yield* Console.log([
        section("Processes", processColumns, processes.map(processRow)),
        section("Queues", queueColumns, queues.map(queueRow)),
        section("Jobs", countColumns, counts.map(countRow))
      ].join("\n\n"))
    })
  )).pipe(Command.withDescription("Processes with their heartbeats, queues, and how many jobs are in each state"))

/** The operators' commands, beside `start` and `migrate`. */
export const commands = [jobs, queues, status] as const
