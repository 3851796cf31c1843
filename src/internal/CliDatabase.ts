/**
 * The `--database-url` option every command takes, and how a command gets steady-queue's services from it.
 * Kept apart from Cli.ts so that the command modules can share it without importing each other.
 */
import { Options } from "@effect/cli"
import type { SqlClient } from "@effect/sql"
import { Config, Effect, Option } from "effect"
import { InvalidConfigError } from "../Errors.js"
import * as SteadyQueue from "../SteadyQueue.js"

export const databaseUrl = Options.text("database-url").pipe(
  Options.withDescription("postgres://..., mysql://... or sqlite:path (default: $STEADY_QUEUE_DATABASE_URL)"),
  Options.optional
)

export const resolveUrl = (flag: Option.Option<string>) =>
  Option.match(flag, {
    onSome: Effect.succeed,
    onNone: () =>
      Config.nonEmptyString("STEADY_QUEUE_DATABASE_URL").pipe(
        Effect.mapError(() =>
          new InvalidConfigError({ message: "no database: pass --database-url or set STEADY_QUEUE_DATABASE_URL" })
        )
      )
  })

/** Runs `effect` with the services on the database the flag (or the environment) names. */
export const withServices = <A, E>(
  flag: Option.Option<string>,
  effect: Effect.Effect<A, E, SteadyQueue.Services | SqlClient.SqlClient>
) => Effect.flatMap(resolveUrl(flag), (url) => Effect.provide(effect, SteadyQueue.fromUrl(url)))
