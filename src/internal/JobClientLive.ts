/**
 * The producer's service on the store: enqueue (validated and encoded first, then announced to this process's
 * subscribers and idle workers) and look-up.
 */
import { Clock, Effect, Layer, Option } from "effect"
import type { JobInfo } from "../Domain.js"
import { JobClient, type JobClientService, type JobRequest } from "../JobClient.js"
import { JobEvents } from "../JobEvents.js"
import { announceEnqueued } from "./announce.js"
import { jobView } from "./jobView.js"
import { prepareJobs } from "./prepare.js"
import type { JobWithStateRow } from "./Storage.js"
import { Store } from "./Store.js"
import { Wakeup } from "./Wakeup.js"
import { hotSpan } from "./spans.js"

export const toJobInfo = (row: JobWithStateRow): Option.Option<JobInfo> =>
  row.state === null ? Option.none() : Option.some({
    ...jobView(row),
    arguments: row.arguments,
    state: row.state,
    updatedAt: new Date(row.updated_at)
  })

const make = Effect.gen(function*() {
  const store = yield* Store
  const events = yield* JobEvents
  const wakeup = yield* Wakeup

  const enqueueAll = (requests: Iterable<JobRequest>) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const jobs = yield* prepareJobs(Array.from(requests), now)
      if (jobs.length === 0) return []
      return yield* announceEnqueued(events, wakeup, yield* store.enqueue(jobs, now))
    }).pipe(hotSpan("steady-queue.enqueue", {}, (jobs) => ({ jobs: jobs.length })))

  const service: JobClientService = {
    enqueue: (request) => Effect.map(enqueueAll([request]), (jobs) => jobs[0]),
    enqueueAll,
    find: (id) => Effect.map(store.jobs.find(id), Option.flatMap(toJobInfo))
  }
  return service
})

export const layer = Layer.effect(JobClient, make)
