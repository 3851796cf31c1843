import { Effect, Layer, Schema, Stream, Fiber } from "effect"
import { JobClient, JobEvents, Migrations, SteadyQueue, Supervisor, Task } from "../src/index.js"

const Hello = Task.make("Hello", { payload: Schema.Struct({ name: Schema.String, at: Schema.Date }) })
const Boom = Task.make("Boom", { payload: Schema.Struct({}) })

const url = process.argv[2] ?? "sqlite::memory:"
const Handlers = Layer.mergeAll(
  Hello.toLayer((p) => Effect.log(`hello ${p.name} ${p.at.toISOString()}`)),
  Boom.toLayer(() => Effect.fail(new Error("boom")))
)
const program = Effect.gen(function*() {
  const events = yield* JobEvents.JobEvents
  const sub = yield* events.subscribe
  const client = yield* JobClient.JobClient
  const a = yield* Hello.enqueue({ name: "a", at: new Date() })
  yield* Boom.enqueue({})
  yield* client.enqueueAll(Array.from({ length: 5 }, (_, i) => Hello.job({ name: `b${i}`, at: new Date() }, { priority: i })))
  console.log("enqueued", a)
  let finished = 0
  while (finished < 7) {
    const e = yield* sub.take
    if (e._tag === "Finished") { finished++; console.log(e._tag, e.job.id, e.outcome, e.error?.message) }
  }
  console.log(yield* client.find(a.id))
  console.log(yield* client.failedJobs())
  console.log(yield* client.queues)
}).pipe(Effect.scoped)

const main = Effect.gen(function*() {
  yield* Migrations.run
  yield* Layer.launch(Supervisor.layer({ workers: [{ threads: 4 }] })).pipe(Effect.fork)
  yield* Effect.sleep("100 millis")
  yield* program
}).pipe(Effect.provide(Handlers.pipe(Layer.provideMerge(SteadyQueue.fromUrl(url)))))
Effect.runPromise(main).then(() => process.exit(0), (e) => { console.error(e); process.exit(1) })
