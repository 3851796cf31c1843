/**
 * The handlers this process can run, filled by `Task.toLayer` layers and read by workers.
 */
import { Context, type Effect, Layer } from "effect"
import type { JobDescription } from "./CurrentJob.js"

export interface RegisteredHandler {
  readonly taskName: string
  /** Decodes the stored payload and runs the handler; fails with `PayloadDecodeError` or the handler's error. */
  readonly run: (encodedPayload: string, job: JobDescription) => Effect.Effect<unknown, unknown>
}

export interface TaskRegistryService {
  readonly register: (handler: RegisteredHandler) => void
  readonly unregister: (taskName: string) => void
  readonly get: (taskName: string) => RegisteredHandler | undefined
  readonly names: () => ReadonlyArray<string>
}

export class TaskRegistry extends Context.Tag("steady-queue/TaskRegistry")<TaskRegistry, TaskRegistryService>() {
  static readonly make = (): TaskRegistryService => {
    const handlers = new Map<string, RegisteredHandler>()
    return {
      register: (handler) => {
        if (handlers.has(handler.taskName)) {
          throw new Error(`steady-queue: a handler for task "${handler.taskName}" is already registered`)
        }
        handlers.set(handler.taskName, handler)
      },
      unregister: (taskName) => void handlers.delete(taskName),
      get: (taskName) => handlers.get(taskName),
      names: () => [...handlers.keys()]
    }
  }
  static readonly layer = Layer.sync(TaskRegistry, TaskRegistry.make)
}
