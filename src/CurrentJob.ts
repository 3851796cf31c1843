/**
 * The job a handler is running, for handlers that want its id, queue or attempt number.
 */
import { Context } from "effect"
import type { JobDescription } from "./Domain.js"

export type { JobDescription } from "./Domain.js"

export class CurrentJob extends Context.Tag("steady-queue/CurrentJob")<CurrentJob, JobDescription>() {}
