/**
 * The tasks the cross-process handle tests enqueue in the test process and run in another one (a child process
 * or a second pool), with handlers that write what they do to a file the test reads: "started <label> <pid>",
 * "finalized <label> <pid>" when a handler is interrupted, "done <label> <pid>".
 */
import { Effect, Layer, Schedule, Schema } from "effect"
import * as fs from "node:fs"
import { CurrentJob, Task } from "../../src/index.js"

/** Doubles `n` once the gate file (`<out>.gate`) exists; says which process did it. */
export const Double = Task.make("XprocDouble", {
  payload: Schema.Struct({ n: Schema.Number }),
  success: Schema.Struct({ doubled: Schema.Number, pid: Schema.Number })
})

/** One at a time per key: "hold..." runs until interrupted; anything else returns its label at once. */
export const Hold = Task.make("XprocHold", {
  payload: Schema.Struct({ label: Schema.String }),
  success: Schema.String,
  concurrency: { key: "xproc-hold", limit: 1, duration: "1 hour" }
})

/** Its first attempt never ends (the test kills its process); the second returns the attempt number. */
export const Flaky = Task.make("XprocFlaky", {
  payload: Schema.Struct({ label: Schema.String }),
  success: Schema.Number,
  retry: { maxAttempts: 2, schedule: Schedule.spaced("500 millis") }
})

export const gateFile = (out: string) => `${out}.gate`

const record = (out: string, line: string) => Effect.sync(() => fs.appendFileSync(out, `${line} ${process.pid}\n`))

const gate = (out: string) =>
  Effect.sync(() => fs.existsSync(gateFile(out))).pipe(
    Effect.repeat({ until: (open) => open, schedule: Schedule.spaced("20 millis") })
  )

/** The handlers of the three tasks, writing to `out`. */
export const handlersLayer = (out: string) =>
  Layer.mergeAll(
    Double.toLayer(({ n }) =>
      record(out, `started double-${n}`).pipe(
        Effect.zipRight(gate(out)),
        Effect.zipRight(record(out, `done double-${n}`)),
        Effect.as({ doubled: 2 * n, pid: process.pid })
      )
    ),
    Hold.toLayer(({ label }) =>
      record(out, `started ${label}`).pipe(
        Effect.zipRight(label.startsWith("hold") ? Effect.never : Effect.void),
        Effect.onInterrupt(() => record(out, `finalized ${label}`)),
        Effect.zipRight(record(out, `done ${label}`)),
        Effect.as(label)
      )
    ),
    Flaky.toLayer(({ label }) =>
      Effect.gen(function*() {
        const { attempt } = yield* CurrentJob.CurrentJob
        yield* record(out, `started ${label}-${attempt}`)
        if (attempt === 1) return yield* Effect.never
        yield* record(out, `done ${label}-${attempt}`)
        return attempt
      })
    )
  )

export const lines = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [])

/** The pids that wrote `<what> <label>` lines. */
export const pidsThat = (file: string, what: string, label: string) =>
  lines(file).filter((l) => l.startsWith(`${what} ${label} `)).map((l) => Number(l.split(" ")[2]))
