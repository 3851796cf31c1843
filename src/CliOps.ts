/**
 * The operators' commands: `jobs list|retry|discard`, `queues list|pause|resume` and `status`. Results go to
 * stdout, as aligned tables or, with `--json`, as one JSON document for scripts; problems go to stderr, and the
 * exit code is 1 whenever something asked for was not done.
 */
import { Args, Command, Options } from "@effect/cli"
import { Clock, Console, Effect, Option, Schema } from "effect"
import { Admin, type ListedJob, type ProcessInfo, type QueueOverview, type StateCount } from "./Admin.js"
import { duration, relative } from "./dashboard/format.js"
import { isOperatorError, type OperatorError, type PersistenceError } from "./Errors.js"
import { DiscardableStates, type JobState, JobStates } from "./Domain.js"
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

const jobColumns = [right("ID"), left("TASK"), left("QUEUE"), right("PRIORITY"), right("ATTEMPTS"), left("SINCE")]

const jobsTable = (state: JobState, jobs: ReadonlyArray<ListedJob>, now: number) => {
  const extra = extraColumn(state, now)
  const columns = extra ? [...jobColumns, extra[0]] : jobColumns
  const rows = jobs.map((job) => [
    String(job.id),
    job.taskName,
    job.queueName,
    String(job.priority),
    String(job.attempts),
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

// jobs retry / jobs discard ----------------------------------------------------------------------------------

interface Outcome {
  readonly done: number
  readonly errors: ReadonlyArray<{ readonly id: number; readonly error: string; readonly message: string }>
}

/** Applies `action` to each job; a job it refuses is reported and the rest go on, a database error stops all. */
const eachJob = (
  ids: ReadonlyArray<number>,
  action: (id: number) => Effect.Effect<void, OperatorError | PersistenceError>
) =>
  Effect.forEach(new Set(ids), (id) =>
    action(id).pipe(
      Effect.as(Option.none()),
      Effect.catchIf(isOperatorError, (e) => Effect.succeed(Option.some({ id, error: e._tag, message: e.message })))
    )).pipe(Effect.map((results): Outcome => {
      const errors = results.flatMap(Option.toArray)
      return { done: results.length - errors.length, errors }
    }))

const report = (verb: "retried" | "discarded", asJson: boolean) => (outcome: Outcome) =>
  Effect.gen(function*() {
    if (asJson) {
      yield* printJson({ [verb]: outcome.done, errors: outcome.errors })
    } else {
      for (const e of outcome.errors) yield* Console.error(`steady-queue: ${e.message}`)
      yield* Console.log(`${verb} ${outcome.done} job(s)`)
    }
    if (outcome.errors.length > 0) {
      return yield* new CommandFailedError({ message: `${outcome.errors.length} job(s) not ${verb}` })
    }
  })

const retry = Command.make("retry", { databaseUrl, ids, all, queue: queueFilter, task: taskFilter, json }, (o) =>
  Effect.zipRight(
    checkSelection(o.ids, o.all, Option.isSome(o.queue) || Option.isSome(o.task)),
    withServices(
      o.databaseUrl,
      Effect.gen(function*() {
        if (!o.all) return yield* eachJob(o.ids, (yield* Admin).retry)
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
        if (!o.all) return yield* eachJob(o.ids, (yield* Admin).discard)
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

const jobs = Command.make("jobs").pipe(
  Command.withDescription("List, retry and discard jobs"),
  Command.withSubcommands([list, retry, discard])
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
