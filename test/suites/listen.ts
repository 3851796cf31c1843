import { assert, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { type Duration, Effect, Logger, TestServices } from "effect"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import type { JobHandle } from "../../src/JobHandle.js"
import { Dispatcher, Worker } from "../../src/index.js"
import { keepListening } from "../../src/internal/Listener.js"
import { listenApplicationName, loadDriver, openListen } from "../../src/internal/pgListen.js"
import { Db, reset, suiteLayer } from "../support/databases.js"
import { Double, gateFile, lines } from "../support/handle-tasks.js"
import { eventually, scaled } from "../support/harness.js"
import { secondPool } from "./handlesXproc.js"

/**
 * PostgreSQL's wake-ups across pools (each pool with services of its own, so no in-process nudge reaches the
 * other side), in real time: the LISTEN connection comes back after its backend is killed, the dispatcher's
 * moves wake other processes, and polling finds what no NOTIFY announced.
 */
const settle = 10_000

const tempFile = (name: string) => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "steady-queue-")), name)

interface Backend {
  readonly pid: number
  readonly state: string | null
  readonly query: string | null
}

/** This database's LISTEN connections. */
const listenBackends = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<Backend>`SELECT pid, state, query FROM pg_stat_activity
               WHERE application_name = ${listenApplicationName} AND datname = current_database()`).pipe(Effect.orDie)

/** Listening: its LISTEN statements (or a health check since) done. */
const listens = (b: Backend) => b.state === "idle" && (b.query?.startsWith("LISTEN") === true || b.query === "SELECT 1")

/** A worker on a pool of its own that polls once an hour: once idle, only a NOTIFY (or a reconnect) wakes it. */
const idleWorkerElsewhere = (pollingInterval: Duration.DurationInput) =>
  Effect.gen(function*() {
    const out = tempFile("wake.txt")
    fs.writeFileSync(gateFile(out), "") // the jobs run through
    const context = yield* secondPool(out)
    yield* Worker.start({ threads: 2, pollingInterval, shutdownTimeout: "1 second" }).pipe(Effect.provide(context))
    return out
  })

const resultWithin = <A, E>(handle: JobHandle<A, E>, what: string, out: string) =>
  handle.await().pipe(
    Effect.timeoutFail({ duration: scaled(settle), onTimeout: () => `${what}: not within ${scaled(settle)} ms` }),
    Effect.catchIf((e): e is string => typeof e === "string", (m) => Effect.dieMessage(`${m}\nthe worker wrote:\n${lines(out).join("\n")}`))
  )

const upWithin = (n: number, what: string, except: ReadonlyArray<number> = []) =>
  eventually(Effect.map(listenBackends, (bs) => bs.filter((b) => !except.includes(b.pid) && listens(b)).length >= n), {
    within: settle,
    what
  })

/** Every line logged while `effect` runs, as "LEVEL message". */
const capturingLogs = <A, E, R>(effect: (logs: Array<string>) => Effect.Effect<A, E, R>) => {
  const logs: Array<string> = []
  const capture = Logger.make(({ logLevel, message }) => {
    logs.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
  })
  return effect(logs).pipe(Effect.provide(Logger.add(capture)))
}

const reconnectsAfterKill = capturingLogs((logs) =>
  Effect.gen(function*() {
    yield* reset
    const out = yield* idleWorkerElsewhere("1 hour")
    const first = yield* Double.enqueue({ n: 1 })
    yield* resultWithin(first, "the first job", out)
    yield* upWithin(1, "a LISTEN connection")
    const sql = yield* SqlClient.SqlClient
    const pids = (yield* listenBackends).map((b) => b.pid)
    for (const pid of pids) yield* Effect.orDie(sql`SELECT pg_terminate_backend(${pid})`)
    // Every pool's connection comes back on a new backend.
    yield* upWithin(pids.length, "the LISTEN connections back", pids)
    yield* Effect.sleep("200 millis")
    const second = yield* Double.enqueue({ n: 2 })
    assert.deepStrictEqual(yield* resultWithin(second, "the job enqueued after the kill", out), { doubled: 4, pid: process.pid })
    assert.isTrue(logs.some((l) => l.startsWith("WARN") && l.includes("LISTEN connection dropped")), logs.join("\n"))
    assert.isTrue(logs.some((l) => l.startsWith("INFO") && l.includes("LISTEN connection is back")), logs.join("\n"))
  })
)

const dispatcherWakesElsewhere = Effect.gen(function*() {
  yield* reset
  const out = yield* idleWorkerElsewhere("1 hour")
  yield* upWithin(1, "the worker's LISTEN connection")
  yield* Effect.sleep("200 millis")
  // Its dispatcher rings only this pool's workers: the other pool's hears the NOTIFY of the dispatch.
  yield* Dispatcher.start({ pollingInterval: "50 millis", concurrencyMaintenance: false })
  const later = yield* Double.enqueue({ n: 3 }, { delay: "300 millis" })
  assert.strictEqual(yield* later.status, "scheduled")
  assert.deepStrictEqual(yield* resultWithin(later, "the dispatched job", out), { doubled: 6, pid: process.pid })
})

const pollingFindsUnannounced = (polling: Duration.DurationInput) => Effect.gen(function*() {
  yield* reset
  const out = yield* idleWorkerElsewhere(polling)
  const job = yield* Double.enqueue({ n: 4 }, { delay: "1 hour" })
  // The wake-up its LISTEN connection gives on opening has come and gone.
  yield* upWithin(1, "the worker's LISTEN connection")
  yield* Effect.sleep("200 millis")
  // Made ready by hand, in statements that send no NOTIFY: only the worker's next poll can find it.
  const sql = yield* SqlClient.SqlClient
  yield* Effect.orDie(sql.withTransaction(Effect.gen(function*() {
    yield* sql`INSERT INTO steady_queue_ready_executions (job_id, queue_name, priority, created_at)
               SELECT job_id, queue_name, priority, created_at FROM steady_queue_scheduled_executions`
    yield* sql`DELETE FROM steady_queue_scheduled_executions`
  })))
  assert.deepStrictEqual(yield* resultWithin(job, "the job no NOTIFY announced", out), { doubled: 8, pid: process.pid })
})

/** A TCP relay to the server whose open connections can be frozen: no more bytes either way, and no FIN. */
const freezingRelay = (target: URL) =>
  Effect.acquireRelease(
    Effect.async<{ readonly port: number; readonly freeze: () => void; readonly close: () => void }>((resume) => {
      const open = new Set<net.Socket>()
      const frozen: Array<net.Socket> = []
      const server = net.createServer((client) => {
        const upstream = net.connect(Number(target.port || 5432), target.hostname)
        for (const s of [client, upstream]) {
          open.add(s)
          s.on("error", () => s.destroy())
          s.on("close", () => open.delete(s))
        }
        client.pipe(upstream).pipe(client)
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          port: (server.address() as net.AddressInfo).port,
          freeze: () => {
            for (const s of open) {
              s.unpipe()
              s.pause()
              frozen.push(s)
            }
            open.clear()
          },
          close: () => {
            server.close()
            for (const s of [...open, ...frozen]) s.destroy()
          }
        })))
    }),
    (relay) => Effect.sync(relay.close)
  )

/** The LISTEN connection through a relay that freezes: its health check goes unanswered, it opens a new one. */
const healthCheckReplacesFrozen = Effect.gen(function*() {
  const target = new URL((yield* Db).url)
  const relay = yield* freezingRelay(target)
  const { Client } = yield* Effect.orDie(loadDriver)
  const delivered: Array<string> = []
  let listened = 0
  yield* keepListening({
    open: openListen(Client, {
      host: "127.0.0.1",
      port: relay.port,
      user: decodeURIComponent(target.username),
      database: target.pathname.slice(1),
      application_name: listenApplicationName
    }, ["steady_queue_test_frozen"], (_, payload) => delivered.push(payload)),
    listening: Effect.sync(() => listened++),
    healthInterval: "100 millis",
    healthTimeout: "300 millis",
    retryDelay: "50 millis"
  })
  yield* eventually(Effect.sync(() => listened === 1), { within: settle, what: "listening" })
  relay.freeze()
  yield* eventually(Effect.sync(() => listened === 2), { within: settle, what: "listening again after the freeze" })
  const sql = yield* SqlClient.SqlClient
  yield* eventually(Effect.gen(function*() {
    yield* Effect.orDie(sql`SELECT pg_notify('steady_queue_test_frozen', 'hello')`)
    yield* Effect.sleep("50 millis")
    return delivered.includes("hello")
  }), { within: settle, what: "a notice on the new connection" })
})

const live = <A, E, R>(effect: Effect.Effect<A, E, R>) => TestServices.provideLive(effect)

export const listenSuite = () =>
  layer(suiteLayer("pg"), { timeout: scaled(60_000) })("PostgreSQL wake-ups across processes", (it) => {
    it.scoped("the LISTEN connection comes back after its backend is killed: a job enqueued after wakes an idle worker", () =>
      live(reconnectsAfterKill), scaled(4 * settle))
    it.scoped("a dispatcher moving a due job to ready wakes an idle worker on another pool (NOTIFY in the dispatch)", () =>
      live(dispatcherWakesElsewhere), scaled(3 * settle))
    it.scoped("a LISTEN connection whose peer freezes (no FIN, no error) fails its health check and is replaced", () =>
      live(healthCheckReplacesFrozen), scaled(3 * settle))
    it.scoped("a job made ready without a NOTIFY is found by polling", () =>
      live(pollingFindsUnannounced("300 millis")), scaled(2 * settle))
  })
