/**
 * The process registry: every supervisor, worker, dispatcher and scheduler has a row it keeps alive.
 */
import type { Effect } from "effect"
import type { PersistenceError } from "../../Errors.js"

type Ids = ReadonlyArray<number>

export interface NewProcess {
  readonly kind: string
  readonly name: string
  readonly pid: number
  readonly hostname: string
  readonly supervisorId: number | null
  readonly metadata: string
}

export interface ProcessStorage {
  /** Inserts the row and returns its id; with `id`, puts back the row of a process that was pruned while alive. */
  readonly register: (process: NewProcess, now: number, id?: number) => Effect.Effect<number, PersistenceError>
  /** Returns whether the row was still there. */
  readonly heartbeat: (id: number, now: number) => Effect.Effect<boolean, PersistenceError>
  readonly deregister: (id: number) => Effect.Effect<void, PersistenceError>
  /** Processes whose last heartbeat is older than `before`. */
  readonly expired: (before: number) => Effect.Effect<Ids, PersistenceError>
  /** Process ids that hold claims but have no row. */
  readonly orphanedClaimOwners: Effect.Effect<Ids, PersistenceError>
  /** The rows a child process registered under a supervisor. */
  readonly bySupervisorAndPid: (supervisorId: number, pid: number) => Effect.Effect<Ids, PersistenceError>
}
