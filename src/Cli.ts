/**
 * The command line: `steady-queue start` runs the supervisor from a configuration module, `steady-queue migrate`
 * runs the migrations, and `jobs`, `queues`, `status` (CliOps.ts) and `dashboard` (CliDashboard.ts) are for
 * operators. Every command takes the database as `--database-url` or `STEADY_QUEUE_DATABASE_URL`:
 * `postgres://...`, `mysql://...` or `sqlite:path/to/file.db`.
 */
import { Command, Options } from "@effect/cli"
import { ValidationError } from "@effect/cli"
import { Console, Effect, Layer } from "effect"
import { dashboard } from "./CliDashboard.js"
import * as CliOps from "./CliOps.js"
import {
  DatabaseUnavailableError,
  InvalidConfigError,
  isOperatorError,
  MissingDriverError,
  type OperatorError,
  SupervisorAlreadyRunningError
} from "./Errors.js"
import * as Migrations from "./Migrations.js"
import * as QueueConfig from "./QueueConfig.js"
import * as Supervisor from "./Supervisor.js"
import { importModule } from "./internal/ConfigModule.js"
import {
  databaseUrl,
  describeDatabaseError,
  isDatabaseError,
  resolveUrl,
  servicesLayer,
  withServices
} from "./internal/CliDatabase.js"
import { withPlainConsole } from "./internal/PlainConsole.js"
import { version } from "./internal/version.js"
import type { RecurringRegistry } from "./Recurring.js"
import type { TaskRegistry } from "./TaskRegistry.js"

/** What a configuration module for `steady-queue start` exports as default. */
export interface StartModule {
  /** The handlers of every task this process should run, and its static recurring tasks (`Recurring.make`). */
  readonly handlers: Layer.Layer<never, unknown, TaskRegistry | RecurringRegistry>
  /** Supervisor configuration; `STEADY_QUEUE_CONFIG` and the single-setting variables override it. */
  readonly config?: QueueConfig.QueueConfigInput
  readonly hooks?: Supervisor.Hooks
}

/** Identity, for type checking a configuration module: `export default Cli.defineStart({ ... })`. */
export const defineStart = (module: StartModule): StartModule => module

const loadModule = (file: string) =>
  Effect.gen(function*() {
    const loaded = yield* importModule(file)
    const candidate = loaded.default as Partial<StartModule> | undefined
    if (candidate === undefined || !Layer.isLayer(candidate.handlers)) {
      return yield* new InvalidConfigError({
        message: `${file} must export default { handlers: Layer, config?: {...}, hooks?: {...} }`
      })
    }
    return candidate as StartModule
  })

const migrate = Command.make("migrate", { databaseUrl }, ({ databaseUrl }) =>
  Effect.gen(function*() {
    const applied = yield* withServices(databaseUrl, Migrations.run, { migrating: true })
    yield* Effect.logInfo(
      applied.length === 0 ? "steady-queue: schema up to date" : `steady-queue: applied ${applied.map(([, name]) => name).join(", ")}`
    )
  })).pipe(Command.withDescription("Create or update steady-queue's tables"))

const start = Command.make("start", {
  databaseUrl,
  config: Options.file("config").pipe(
    Options.withDescription("module whose default export is { handlers, config?, hooks? } (default: steady-queue.config.ts)"),
    Options.withDefault("steady-queue.config.ts")
  )
}, ({ config, databaseUrl }) =>
  Effect.gen(function*() {
    const url = yield* resolveUrl(databaseUrl)
    const module = yield* loadModule(config)
    const queueConfig = yield* QueueConfig.fromEnv(module.config)
    return yield* Layer.launch(
      Layer.scopedDiscard(Supervisor.start(queueConfig, module.hooks)).pipe(
        Layer.provide(module.handlers),
        Layer.provide(servicesLayer(url, { maxConnections: 10 }))
      )
    )
  })).pipe(Command.withDescription("Run the supervisor with the workers and dispatchers configured"))

export const command = Command.make("steady-queue").pipe(Command.withSubcommands([start, migrate, ...CliOps.commands, dashboard]))

export const run = Command.run(command, { name: "steady-queue", version })

/** What keeps a command from starting: the configuration, the database, another supervisor. */
type SetupError = InvalidConfigError | SupervisorAlreadyRunningError | DatabaseUnavailableError | MissingDriverError

const isSetupError = (e: unknown): e is SetupError =>
  e instanceof InvalidConfigError || e instanceof SupervisorAlreadyRunningError ||
  e instanceof DatabaseUnavailableError || e instanceof MissingDriverError

const isUsersToFix = (e: unknown): e is SetupError | OperatorError => isSetupError(e) || isOperatorError(e)

/** Failures whose explanation is on the terminal already: the command's own report, or @effect/cli's usage help. */
const isReported = (e: unknown): e is CliOps.CommandFailedError | ValidationError.ValidationError =>
  e instanceof CliOps.CommandFailedError || ValidationError.isValidationError(e)

/**
 * The command line on `argv`, as `npx steady-queue` runs it; succeeds with the exit code. Configuration problems,
 * a database that cannot be used and refused operations are the user's to fix: one line on stderr and exit code
 * 1, not a stack trace. So is a statement that fails on the way (the database went away, say). Output has no
 * colour codes when stdout is not a terminal or NO_COLOR is set.
 */
export const main = (argv: ReadonlyArray<string>) =>
  withPlainConsole(run(argv)).pipe(
    Effect.as(0),
    Effect.catchIf(isUsersToFix, (e) => Effect.as(Console.error(`steady-queue: ${e.message}`), 1)),
    Effect.catchIf(isDatabaseError, (e) => Effect.as(Console.error(`steady-queue: database error: ${describeDatabaseError(e)}`), 1)),
    Effect.catchIf(isReported, () => Effect.succeed(1))
  )

