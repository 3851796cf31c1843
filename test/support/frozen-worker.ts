/**
 * The frozen-worker test's child: one worker (1 thread, heartbeat 250 ms, alive threshold 1.5 s) running the
 * Frozen task, appending its lines to out-file. Usage:
 *   node --import tsx test/support/frozen-worker.ts <database-url> <out-file>
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import { SteadyQueue, Worker } from "../../src/index.js"
import { frozenHandler } from "./frozen.js"

const [url, outFile] = process.argv.slice(2)

const program = Effect.zipRight(
  Worker.start({ threads: 1, pollingInterval: "50 millis", heartbeatInterval: "250 millis", aliveThreshold: "1500 millis" }),
  Effect.never
).pipe(Effect.scoped)

NodeRuntime.runMain(program.pipe(
  Effect.provide(frozenHandler((line) => fs.appendFileSync(outFile, `${line}\n`)).pipe(Layer.provideMerge(SteadyQueue.fromUrl(url))))
))
