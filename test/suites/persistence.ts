import { SqlError, Statement } from "@effect/sql"
import { assert, layer } from "@effect/vitest"
import { Effect, Option, ParseResult, Schema } from "effect"
import { Admin, Errors, JobClient, Task } from "../../src/index.js"
import { type DialectName, reset, suiteLayer } from "../support/databases.js"
import { count } from "../support/harness.js"

const Note = Task.make("PersistenceNote", { payload: Schema.Struct({ text: Schema.String }) })

/** Runs `effect` with every statement whose text matches `pattern` replaced by `replacement`. */
const replacing = (pattern: RegExp, replacement: (sql: Statement.Constructor) => Statement.Statement<unknown>) =>
<A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Statement.withTransformer(effect, (self, sql) => Effect.succeed(pattern.test(self.compile()[0]) ? replacement(sql) : self))

const listJobs = (options: Admin.ListOptions) => Effect.flatMap(Admin.Admin, (admin) => admin.jobs(options))

const missingTable = (sql: Statement.Constructor) => sql`SELECT * FROM steady_queue_no_such_table`
/** A statement that fails when it runs, not when it is prepared (SQLite's driver dies on an unprepared one that fails to prepare). */
const nullViolation = (sql: Statement.Constructor) => sql`INSERT INTO steady_queue_pauses (queue_name, created_at) VALUES (NULL, 0)`

export const persistenceSuite = (dialect: DialectName) =>
  layer(suiteLayer(dialect), { timeout: "60 seconds" })("persistence failures", (it) => {
    it.effect("a statement the database refuses fails a JobClient read with PersistenceError, the driver's error its cause", () =>
      Effect.gen(function*() {
        yield* reset
        const job = yield* JobClient.enqueue(Note.job({ text: "a" }))
        const error = yield* JobClient.find(job.id).pipe(replacing(/FROM steady_queue_jobs j\b/, missingTable), Effect.flip)
        assert.instanceOf(error, Errors.PersistenceError)
        assert.instanceOf(error.cause, SqlError.SqlError)
        assert.include(error.message, "steady_queue_no_such_table")
        // The store is fine afterwards.
        assert.isTrue(Option.isSome(yield* JobClient.find(job.id)))
      }))

    it.effect("an enqueue whose write fails is a PersistenceError and writes nothing", () =>
      Effect.gen(function*() {
        yield* reset
        const error = yield* JobClient.enqueueAll([Note.job({ text: "a" }), Note.job({ text: "b" })]).pipe(
          replacing(/INSERT INTO steady_queue_(ready|scheduled)_executions|WITH input AS/, nullViolation),
          Effect.flip
        )
        assert.instanceOf(error, Errors.PersistenceError)
        assert.strictEqual(yield* count("steady_queue_jobs"), 0)
      }))

    it.effect("a row of an unexpected shape fails an Admin read with PersistenceError, not a defect", () =>
      Effect.gen(function*() {
        yield* reset
        yield* JobClient.enqueue(Note.job({ text: "a" }))
        const error = yield* listJobs({ state: "ready" }).pipe(
          replacing(/JOIN steady_queue_jobs j ON j\.id = e\.job_id/, (sql) => sql`SELECT 'not a number' AS id`),
          Effect.flip
        )
        assert.instanceOf(error, Errors.PersistenceError)
        assert.isTrue(ParseResult.isParseError(error.cause))
        assert.include(error.message, "unexpected shape")
        assert.strictEqual((yield* listJobs({ state: "ready" })).jobs.length, 1)
      }))

    it.effect("an operator action inside the store's transaction fails with PersistenceError and changes nothing", () =>
      Effect.gen(function*() {
        yield* reset
        const job = yield* JobClient.enqueue(Note.job({ text: "a" }))
        const error = yield* JobClient.discardMany([job.id]).pipe(
          replacing(/^DELETE FROM steady_queue_jobs/, missingTable),
          Effect.flip
        )
        assert.instanceOf(error, Errors.PersistenceError)
        assert.strictEqual(yield* count("steady_queue_jobs"), 1)
        assert.strictEqual(yield* count("steady_queue_ready_executions"), 1)
      }))
  })
