/**
 * `steady-queue dashboard`: the operator dashboard on its own HTTP server. Basic auth when a password is given;
 * without one it only listens on a loopback address.
 */
import { Command, Options } from "@effect/cli"
import { Config, Console, Effect, Layer, Option, Redacted } from "effect"
import * as Dashboard from "./Dashboard.js"
import { InvalidConfigError } from "./Errors.js"
import { databaseUrl, resolveUrl, servicesLayer } from "./internal/CliDatabase.js"

const isLoopback = (host: string) => host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host)

const setting = (name: string) =>
  Config.option(Config.redacted(name)).pipe(Effect.orElseSucceed(() => Option.none<Redacted.Redacted>()))

const options = {
  databaseUrl,
  port: Options.integer("port").pipe(Options.withDefault(8080), Options.withDescription("port to listen on (default: 8080)")),
  host: Options.text("host").pipe(
    Options.withDefault("127.0.0.1"),
    Options.withDescription("interface to listen on; a non-loopback one needs a password (default: 127.0.0.1)")
  ),
  username: Options.text("username").pipe(Options.withDefault("admin"), Options.withDescription("basic auth user (default: admin)")),
  password: Options.redacted("password").pipe(
    Options.optional,
    Options.withDescription("basic auth password (default: $STEADY_QUEUE_DASHBOARD_PASSWORD; none means no authentication, on loopback only)")
  )
}

export const dashboard = Command.make("dashboard", options, (o) =>
  Effect.gen(function*() {
    const url = yield* resolveUrl(o.databaseUrl)
    if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
      return yield* new InvalidConfigError({ message: `--port must be from 0 to 65535, not ${o.port}` })
    }
    // An empty password is no password.
    const password = (Option.isSome(o.password) ? o.password : yield* setting("STEADY_QUEUE_DASHBOARD_PASSWORD")).pipe(
      Option.filter((p) => Redacted.value(p) !== "")
    )
    if (Option.isNone(password) && !isLoopback(o.host)) {
      return yield* new InvalidConfigError({
        message: `refusing to serve the dashboard on ${o.host} without a password: set STEADY_QUEUE_DASHBOARD_PASSWORD ` +
          `(or --password), or listen on 127.0.0.1`
      })
    }
    if (Option.isNone(password)) {
      yield* Console.error("steady-queue: the dashboard has no password; it is reachable from this machine only")
    }
    const csrfSecret = Option.filter(yield* setting("STEADY_QUEUE_DASHBOARD_SECRET"), (s) => Redacted.value(s) !== "")
    return yield* Layer.launch(
      Dashboard.serve({
        port: o.port,
        host: o.host,
        auth: Option.match(password, {
          onNone: () => Dashboard.noAuth,
          onSome: (p) => Dashboard.basicAuth({ username: o.username, password: p })
        }),
        ...Option.match(csrfSecret, { onNone: () => ({}), onSome: (secret) => ({ csrfSecret: secret }) })
      }).pipe(Layer.provide(servicesLayer(url, { maxConnections: 10 })))
    )
  })).pipe(Command.withDescription("Serve the operator dashboard over HTTP"))
