/**
 * The handlers this process can run, filled by `Task.toLayer` layers and read by workers.
 */
import { Context, type Effect, Layer, type Schedule } from "effect"
import type { JobDescription } from "./CurrentJob.js"

/** A task's retry policy, as its handler's worker (and a process that fails its lost jobs) applies it. */
export interface RetryPolicy {
  /** Runs in all, the first included. */
  readonly maxAttempts: number
  readonly schedule: Schedule.Schedule<unknown, unknown>
  readonly while: (error: unknown) => boolean
}

export interface RegisteredHandler {
  readonly taskName: string
  /**
   * Decodes the stored payload, runs the handler and encodes its result with the task's `success` schema (JSON;
   * null without one); fails with `PayloadDecodeError`, the handler's error, or `ResultEncodeError`.
   */
  readonly run: (encodedPayload: string, job: JobDescription) => Effect.Effect<string | null, unknown>
  /** A failure the task's `error` schema declares, encoded (JSON); undefined for any other. */
  readonly encodeError: (error: unknown) => string | undefined
  /** The task's own retry policy; undefined: the configuration's default applies. */
  readonly retry: RetryPolicy | undefined
  readonly timeoutMs: number | undefined
  readonly expireMs: number | undefined
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
