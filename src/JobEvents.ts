/**
 * Lifecycle events of jobs seen by this process: enqueued (after the insert), started, and finished with an
 * outcome (after the outcome is written). Subscribe with `JobEvents.stream` or `JobEvents.subscribe`.
 */
import { Context, Data, Effect, Layer, PubSub, type Queue, type Scope, Stream } from "effect"
import type { EnqueuedJob, JobDescription } from "./Domain.js"
import type { JobError } from "./JobError.js"

export type { EnqueuedJob } from "./Domain.js"

export type JobEvent = Data.TaggedEnum<{
  Enqueued: { readonly job: EnqueuedJob }
  Started: { readonly job: JobDescription; readonly processId: number }
  Finished: {
    readonly job: JobDescription
    readonly processId: number
    /** Failed for good, or failed and to be retried ("retrying"), or stopped by a cancel. */
    readonly outcome: "succeeded" | "failed" | "retrying" | "cancelled"
    readonly error: JobError | undefined
  }
}>
export const JobEvent = Data.taggedEnum<JobEvent>()

export interface JobEventsService {
  readonly publish: (event: JobEvent) => Effect.Effect<void>
  readonly publishAll: (events: Iterable<JobEvent>) => Effect.Effect<void>
  /** A subscription that lives as long as the scope. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<JobEvent>, never, Scope.Scope>
  readonly stream: Stream.Stream<JobEvent>
}

export class JobEvents extends Context.Tag("steady-queue/JobEvents")<JobEvents, JobEventsService>() {
  static readonly layer = Layer.effect(
    JobEvents,
    Effect.map(PubSub.unbounded<JobEvent>(), (hub) => {
      // Events are published per job on the worker's hot path: with nobody subscribed, publishing is skipped
      // (and a lazy `Iterable` handed to publishAll is never read).
      let subscribers = 0
      const counted = <A, E, R>(subscription: Effect.Effect<A, E, R>) =>
        Effect.acquireRelease(
          Effect.zipLeft(subscription, Effect.sync(() => subscribers++)),
          () => Effect.sync(() => subscribers--)
        )
      return {
        publish: (event) => Effect.suspend(() => subscribers === 0 ? Effect.void : Effect.asVoid(PubSub.publish(hub, event))),
        publishAll: (events) => Effect.suspend(() => subscribers === 0 ? Effect.void : Effect.asVoid(PubSub.publishAll(hub, events))),
        subscribe: counted(PubSub.subscribe(hub)),
        stream: Stream.unwrapScoped(Effect.map(counted(PubSub.subscribe(hub)), (queue) => Stream.fromQueue(queue)))
      }
    })
  )
}

/** The events of this process as a stream (subscribed when the stream starts). */
export const stream: Stream.Stream<JobEvent, never, JobEvents> = Stream.unwrap(Effect.map(JobEvents, (e) => e.stream))
