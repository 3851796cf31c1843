import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, FiberRef, Ref } from "effect"
import * as Threads from "../../src/internal/worker/Threads.js"

const work = (run: Threads.Work["run"], ended: () => void = () => undefined): Threads.Work => ({
  assigned: () => undefined,
  run,
  ended
})

/** Threads with no job to take next. */
const makeThreads = Threads.make({ next: () => undefined, freed: () => undefined })

/** Runs `body` as a thread's job and waits for it to end; returns the thread. */
const runJob = (threads: Threads.Threads, body: Threads.Work["run"]) =>
  Effect.gen(function*() {
    const ended = yield* Deferred.make<void>()
    const thread = yield* threads.run(work(body, () => Deferred.unsafeDone(ended, Effect.void)))
    yield* Deferred.await(ended)
    return thread
  })

const fiberIdOf = (out: Ref.Ref<ReadonlyArray<string>>) =>
  Effect.flatMap(Effect.fiberId, (id) => Ref.update(out, (ids) => [...ids, String(id)]))

describe("a worker's threads", () => {
  it.scoped("run job after job on one fiber, each starting from the thread's own fiber refs", () =>
    Effect.gen(function*() {
      const threads = yield* makeThreads
      const ref = FiberRef.unsafeMake("unset")
      const seen: Array<string> = []
      const ids = yield* Ref.make<ReadonlyArray<string>>([])
      const first = yield* runJob(threads, () =>
        Effect.zipRight(fiberIdOf(ids), Effect.zipRight(FiberRef.set(ref, "set by the first job"), Effect.annotateLogsScoped({ leaked: true }))).pipe(Effect.scoped))
      const second = yield* runJob(threads, () =>
        Effect.zipRight(fiberIdOf(ids), Effect.flatMap(FiberRef.get(ref), (value) => Effect.sync(() => seen.push(value)))))
      assert.strictEqual(first, second)
      const [a, b] = yield* Ref.get(ids)
      assert.strictEqual(a, b)
      assert.deepStrictEqual(seen, ["unset"])
    }))

  it.scoped("interrupt, and await, the fibers a job's handler forked when the job ends", () =>
    Effect.gen(function*() {
      const threads = yield* makeThreads
      const childEnded = yield* Deferred.make<void>()
      const childStarted = yield* Deferred.make<void>()
      const child = Deferred.succeed(childStarted, undefined).pipe(
        Effect.zipRight(Effect.never),
        Effect.onInterrupt(() => Deferred.succeed(childEnded, undefined))
      )
      // The handler's part of the job (restored, as the Performer runs a handler) forks a fiber and returns.
      yield* runJob(threads, (restore) => restore(Effect.zipRight(Effect.fork(child), Deferred.await(childStarted))))
      assert.isTrue(yield* Deferred.isDone(childEnded))
    }))

  it.scoped("retire a thread whose job was interrupted: only its handler is stopped, the next job gets a new thread", () =>
    Effect.gen(function*() {
      const threads = yield* makeThreads
      const started = yield* Deferred.make<void>()
      const ended = yield* Deferred.make<void>()
      const outcome: Array<string> = []
      const thread = yield* threads.run(work(
        (restore) =>
          Effect.gen(function*() {
            const exit = yield* Effect.exit(restore(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)))
            // The rest of the job still runs: the thread is uninterruptible outside the handler.
            yield* Effect.yieldNow()
            outcome.push(exit._tag === "Failure" ? "handler interrupted" : "handler ended")
          }),
        () => Deferred.unsafeDone(ended, Effect.void)
      ))
      yield* Deferred.await(started)
      yield* Threads.interrupt(thread)
      yield* Deferred.await(ended)
      assert.deepStrictEqual(outcome, ["handler interrupted"])
      assert.isTrue(thread.retired)
      yield* Fiber.await(thread.fiber!)
      const next = yield* runJob(threads, (restore) => Effect.map(Effect.exit(restore(Effect.yieldNow())), (exit) => void outcome.push(exit._tag)))
      assert.notStrictEqual(next, thread)
      assert.deepStrictEqual(outcome, ["handler interrupted", "Success"])
    }))

  it.effect("wait for busy threads to be idle; when their scope closes, interrupt what runs and end every thread", () =>
    Effect.gen(function*() {
      const interrupted = yield* Deferred.make<void>()
      const [first, second] = yield* Effect.scoped(
        Effect.gen(function*() {
          const threads = yield* makeThreads
          const release = yield* Deferred.make<void>()
          const firstEnded = yield* Deferred.make<void>()
          const first = yield* threads.run(work(
            (restore) => restore(Deferred.await(release)),
            () => Deferred.unsafeDone(firstEnded, Effect.void)
          ))
          const started = yield* Deferred.make<void>()
          const second = yield* threads.run(work((restore) =>
            Effect.zipRight(
              Effect.exit(restore(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never))),
              Deferred.succeed(interrupted, undefined)
            )
          ))
          assert.notStrictEqual(first, second)
          yield* Deferred.await(started)
          const waiting = yield* Effect.fork(threads.awaitIdle)
          yield* Deferred.succeed(release, undefined)
          yield* Deferred.await(firstEnded)
          yield* Effect.yieldNow()
          // One thread is idle again, the other still busy.
          assert.isNull(waiting.unsafePoll())
          return [first, second] as const
        })
      )
      assert.isTrue(yield* Deferred.isDone(interrupted))
      assert.isNotNull(first.fiber!.unsafePoll())
      assert.isNotNull(second.fiber!.unsafePoll())
    }))

  it.scoped("a wait for idle threads ends when the last busy one ends its job", () =>
    Effect.gen(function*() {
      const threads = yield* makeThreads
      yield* threads.awaitIdle
      const release = yield* Deferred.make<void>()
      yield* threads.run(work((restore) => restore(Deferred.await(release))))
      const waiting = yield* Effect.fork(threads.awaitIdle)
      yield* Effect.yieldNow()
      assert.isNull(waiting.unsafePoll())
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(waiting)
    }))

  it.scoped("take the next job, when there is one, as soon as a job ends", () =>
    Effect.gen(function*() {
      const ran: Array<string> = []
      const assigned: Array<Threads.Thread> = []
      const allEnded = yield* Deferred.make<void>()
      const queued = ["second", "third"].map((name) => ({
        assigned: (thread: Threads.Thread) => void assigned.push(thread),
        run: () => Effect.sync(() => void ran.push(name)),
        ended: () => name === "third" ? Deferred.unsafeDone(allEnded, Effect.void) : undefined
      }))
      const threads = yield* Threads.make({ next: () => queued.shift(), freed: () => undefined })
      const first = yield* threads.run(work(() => Effect.sync(() => void ran.push("first"))))
      yield* Deferred.await(allEnded)
      assert.deepStrictEqual(ran, ["first", "second", "third"])
      assert.deepStrictEqual(assigned, [first, first])
      yield* threads.awaitIdle
    }))
})
