/**
 * @effect/cli colours its help and messages with ANSI codes whatever the output is. Scripts and pipes want plain
 * text, and NO_COLOR (no-color.org) asks for it everywhere: this console drops the codes in those cases.
 */
import { Console, Effect } from "effect"

// SGR sequences (colours, bold), the only ones @effect/cli's printer emits.
const sgr = /\u001b\[[0-9;]*m/g

const strip = (value: unknown): unknown => (typeof value === "string" ? value.replace(sgr, "") : value)

/** Whether output should be plain: NO_COLOR is set, or stdout is not a terminal. */
export const wantsPlain = (env: NodeJS.ProcessEnv = process.env, isTTY: boolean = process.stdout.isTTY === true) =>
  (env.NO_COLOR !== undefined && env.NO_COLOR !== "") || !isTTY

const plainConsole = (console: Console.Console): Console.Console => ({
  ...console,
  log: (...args) => console.log(...args.map(strip)),
  error: (...args) => console.error(...args.map(strip)),
  info: (...args) => console.info(...args.map(strip)),
  warn: (...args) => console.warn(...args.map(strip))
})

/** Runs `effect` with a console that prints no colour codes when `plain` is true. */
export const withPlainConsole = <A, E, R>(effect: Effect.Effect<A, E, R>, plain: boolean = wantsPlain()) =>
  plain ? Effect.flatMap(Effect.console, (console) => Effect.withConsole(effect, plainConsole(console))) : effect
