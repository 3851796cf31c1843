/**
 * The operator's service on the store: the reads behind the dashboard and the command line, and every operator
 * action, each validated once (in `internal/admin/`).
 */
import { Effect, Layer } from "effect"
import { Admin, type AdminService } from "../Admin.js"
import * as JobActions from "./admin/jobActions.js"
import * as QueueActions from "./admin/queueActions.js"
import * as Reads from "./admin/reads.js"

const make = Effect.map(
  Effect.all([Reads.make, JobActions.make, QueueActions.make]),
  ([reads, jobActions, queueActions]): AdminService => ({ ...reads, ...jobActions, ...queueActions })
)

export const layer = Layer.effect(Admin, make)
