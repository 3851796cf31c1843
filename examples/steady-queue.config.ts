/**
 * A configuration module for the CLI:
 *   npx steady-queue start --config examples/steady-queue.config.ts --database-url sqlite:tmp/cli.db
 */
import { Effect } from "effect"
import { Cli } from "steady-queue"
import { Handlers } from "./handlers.js"

export default Cli.defineStart({
  handlers: Handlers,
  config: {
    workers: [{ queues: ["default", "email", "media"], threads: 5 }],
    dispatchers: [{ pollingInterval: "1 second" }]
  },
  hooks: {
    onStart: (p) => Effect.logInfo(`supervisor ${p.id} started`),
    onStop: (p) => Effect.logInfo(`supervisor ${p.id} stopped`)
  }
})
