/**
 * Inside the public `Runtime`: the store, the wake-up and the client they were built on. Public functions that
 * need the internal services take the `Runtime` and provide them from it, so that no internal tag appears in a
 * public type.
 */
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer } from "effect"
import { Runtime, type RuntimeService, TypeId } from "../Runtime.js"
import { Notices } from "./Notices.js"
import { Store } from "./Store.js"
import { Wakeup } from "./Wakeup.js"

export type Internals = Store | Wakeup | Notices

interface RuntimeInternals extends RuntimeService {
  readonly context: Context.Context<Internals>
  readonly sql: SqlClient.SqlClient
}

const internals = (runtime: RuntimeService) => runtime as RuntimeInternals

/** The `Runtime` of the store and wake-up in context, on the client they were built on. */
export const layer: Layer.Layer<Runtime, never, Internals | SqlClient.SqlClient> = Layer.effect(
  Runtime,
  Effect.gen(function*() {
    const runtime: RuntimeInternals = {
      [TypeId]: TypeId,
      // Only these two: the whole context would carry the layer's own scope into every fiber given it.
      context: Context.pick(Store, Wakeup, Notices)(yield* Effect.context<Internals>()),
      sql: yield* SqlClient.SqlClient
    }
    return runtime
  })
)

/** Runs `self` with the store and wake-up the `Runtime` carries. */
export const provideInternals = <A, E, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, E, Exclude<R, Internals> | Runtime> =>
  Effect.flatMap(Runtime, (runtime) => Effect.provide(self, internals(runtime).context))

/** The store and wake-up as services of their own, for steady-queue's own tests and tools. */
export const internalsLayer: Layer.Layer<Internals, never, Runtime> = Layer.effectContext(
  Effect.map(Runtime, (runtime) => internals(runtime).context)
)

/** The `SqlClient` the runtime's statements run on (the queue's database). */
export const sqlClient: Effect.Effect<SqlClient.SqlClient, never, Runtime> = Effect.map(
  Runtime,
  (runtime) => internals(runtime).sql
)
