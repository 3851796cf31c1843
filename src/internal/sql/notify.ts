/**
 * PostgreSQL notifications, sent inside the transaction that makes them true (delivered on commit, dropped on
 * rollback): job ids whose outcome was written, for handles awaiting them, and job ids asked to cancel, for the
 * workers running them. Other databases have none; their readers poll.
 */
import type { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Dialect } from "./dialect.js"

export const settledChannel = "steady_queue_settled"
export const cancelChannel = "steady_queue_cancel"
/** Jobs became ready: idle workers of every process claim at once instead of at their next poll. */
export const readyChannel = "steady_queue_ready"
/** The ready channel's payload: it names no jobs (workers claim whatever is ready). */
export const readyPayload = "ready"

/** The longest payload sent; a longer list of ids is sent as "*" (any job: readers check theirs). */
const maxPayload = 7900

export const payloadOf = (ids: ReadonlyArray<number>): string => {
  const text = ids.join(",")
  return text.length > maxPayload ? "*" : text
}

/** Reads a payload: the ids it names, or "any" for "*". */
export const parsePayload = (payload: string): ReadonlyArray<number> | "any" =>
  payload === "*" ? "any" : payload.split(",").map(Number).filter(Number.isFinite)

/** Wakes the idle workers of every process (PostgreSQL; the others poll). */
export const notifyReady = (sql: SqlClient.SqlClient, dialect: Dialect) =>
  dialect.name !== "pg" ? Effect.void : Effect.asVoid(sql`SELECT pg_notify(${readyChannel}, ${readyPayload})`)

export const notify = (sql: SqlClient.SqlClient, dialect: Dialect, channel: string, ids: ReadonlyArray<number>) =>
  dialect.name !== "pg" || ids.length === 0
    ? Effect.void
    : Effect.asVoid(sql`SELECT pg_notify(${channel}, ${payloadOf(ids)})`)
