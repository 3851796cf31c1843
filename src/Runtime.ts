/**
 * What workers, dispatchers, schedulers, supervisors and `Migrations.run` need from steady-queue besides the
 * registries: its statements on the queue's database and the wake-up of this process's idle workers. Opaque:
 * `SteadyQueue.layer` and the drivers' `layer`s build it; there is nothing in it for an app to use directly.
 */
import { Context } from "effect"

export const TypeId: unique symbol = Symbol.for("steady-queue/Runtime")
export type TypeId = typeof TypeId

/** Only steady-queue's layers make one. */
export interface RuntimeService {
  readonly [TypeId]: TypeId
}

export class Runtime extends Context.Tag("steady-queue/Runtime")<Runtime, RuntimeService>() {}
