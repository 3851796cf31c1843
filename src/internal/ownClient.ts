/**
 * The drivers' layers: steady-queue's services on a client the layer builds. The client stays inside unless the
 * caller asks for it, so that merging the layer into an app never replaces the app's own `SqlClient`.
 */
import type { SqlClient } from "@effect/sql"
import { Layer } from "effect"
import type { Services } from "../SteadyQueue.js"

/** Typed as the widest case; the drivers' overloads give the output its option asks for. */
export const onOwnClient = <E, E2, RIn>(
  services: Layer.Layer<Services, E, RIn>,
  client: Layer.Layer<NoInfer<RIn> | SqlClient.SqlClient, E2>,
  options: { readonly provideSqlClient?: boolean | undefined }
): Layer.Layer<Services | SqlClient.SqlClient, E | E2> =>
  options.provideSqlClient === true
    ? services.pipe(Layer.provideMerge(client))
    : services.pipe(Layer.provide(client)) as Layer.Layer<Services | SqlClient.SqlClient, E | E2>
