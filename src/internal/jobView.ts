/**
 * How a job row reads for operators, whichever statement read it (one job with its state, or a list).
 */
import { Option } from "effect"
import { JobError } from "../JobError.js"

interface JobViewRow {
  readonly id: number
  readonly public_id: string
  readonly task_name: string
  readonly queue_name: string
  readonly priority: number
  readonly attempts: number
  readonly scheduled_at: number
  readonly created_at: number
  readonly finished_at: number | null
  readonly concurrency_key: string | null
  readonly error: string | null
  readonly process_id: number | null
}

export const jobView = (row: JobViewRow) => ({
  id: row.id,
  publicId: row.public_id,
  taskName: row.task_name,
  queueName: row.queue_name,
  priority: row.priority,
  attempts: row.attempts,
  scheduledAt: new Date(row.scheduled_at),
  createdAt: new Date(row.created_at),
  finishedAt: Option.map(Option.fromNullable(row.finished_at), (t) => new Date(t)),
  concurrencyKey: Option.fromNullable(row.concurrency_key),
  error: Option.map(Option.fromNullable(row.error), JobError.parse),
  processId: Option.fromNullable(row.process_id)
})
