/**
 * Which queues a worker polls, in which order, as the seeds describe: `*` for all, exact names in the order
 * given, `prefix*` expanded to the queues with ready jobs that start with it; paused queues left out.
 */
import { Effect } from "effect"
import type { PersistenceError } from "../Errors.js"
import { nameProblem } from "./names.js"

type Entry = { readonly _tag: "Exact"; readonly name: string } | { readonly _tag: "Prefix"; readonly prefix: string }

export type Selection =
  | { readonly _tag: "All" }
  | { readonly _tag: "List"; readonly names: ReadonlyArray<string> }

export interface ParsedQueues {
  readonly all: boolean
  readonly entries: ReadonlyArray<Entry>
  /**
   * Names with a `*` anywhere but at the end (as in Solid Queue), and names no queue can have (names.ts):
   * ignored. Control characters in them are shown as "?", since the list is logged.
   */
  readonly ignored: ReadonlyArray<string>
}

/** An empty list means every queue, like an omitted one: a worker that polls nothing is never what was meant. */
export const parse = (queues: ReadonlyArray<string>): ParsedQueues => {
  if (queues.length === 0) return { all: true, entries: [], ignored: [] }
  const entries: Array<Entry> = []
  const ignored: Array<string> = []
  let all = false
  for (const raw of queues) {
    const q = typeof raw === "string" ? raw.trim() : ""
    if (q === "*") all = true
    else if (q.slice(0, -1).includes("*") || nameProblem("queue name", q.endsWith("*") ? `${q.slice(0, -1)}x` : q) !== undefined) {
      ignored.push(String(raw).replace(/[\u0000-\u001f\u007f-\u009f]/g, "?"))
    }
    else if (q.endsWith("*")) entries.push({ _tag: "Prefix", prefix: q.slice(0, -1) })
    else entries.push({ _tag: "Exact", name: q })
  }
  return { all, entries, ignored }
}

/** Resolves the selection for one poll; `readyQueueNames` is only asked when a prefix or a pause needs it. */
export const resolve = (
  parsed: ParsedQueues,
  paused: ReadonlyArray<string>,
  readyQueueNames: (prefix: string | undefined) => Effect.Effect<ReadonlyArray<string>, PersistenceError>
): Effect.Effect<Selection, PersistenceError> =>
  Effect.gen(function*() {
    const pausedSet = new Set(paused)
    if (parsed.all) {
      if (pausedSet.size === 0) return { _tag: "All" } as const
      const names = yield* readyQueueNames(undefined)
      return { _tag: "List", names: names.filter((n) => !pausedSet.has(n)) } as const
    }
    const names: Array<string> = []
    const seen = new Set<string>()
    for (const entry of parsed.entries) {
      const expanded = entry._tag === "Exact" ? [entry.name] : yield* readyQueueNames(entry.prefix)
      for (const name of expanded) {
        if (!seen.has(name) && !pausedSet.has(name)) {
          seen.add(name)
          names.push(name)
        }
      }
    }
    return { _tag: "List", names } as const
  })
