/**
 * The job a handler is running, for handlers that want its id, queue or attempt number.
 */
import { Context } from "effect"

export interface JobDescription {
  readonly id: number
  readonly publicId: string
  readonly taskName: string
  readonly queueName: string
  readonly priority: number
  /** How many times the job was retried after failing (0 on its first run). */
  readonly attempts: number
  readonly scheduledAt: Date
  readonly enqueuedAt: Date
  /** The concurrency control the job runs under, if its task has one. */
  readonly concurrency: { readonly key: string; readonly limit: number } | null
}

export class CurrentJob extends Context.Tag("steady-queue/CurrentJob")<CurrentJob, JobDescription>() {}
