import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { run } from "./Cli.js"
import { InvalidConfigError, SupervisorAlreadyRunningError } from "./Errors.js"

const isUsersToFix = (e: unknown): e is InvalidConfigError | SupervisorAlreadyRunningError =>
  e instanceof InvalidConfigError || e instanceof SupervisorAlreadyRunningError

run(process.argv).pipe(
  // Configuration problems are the user's to fix: a plain message and exit code 1, not a stack trace.
  Effect.catchIf(isUsersToFix, (e) =>
    Effect.zipRight(Console.error(`steady-queue: ${e.message}`), Effect.sync(() => (process.exitCode = 1)))),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain
)
