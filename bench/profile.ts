/** A CPU profile of this process from now until `stop`, written to `file` (open it in Chrome's DevTools). */
import * as fs from "node:fs"
import { Session } from "node:inspector/promises"

export const startProfile = async (file: string | undefined): Promise<{ readonly stop: () => Promise<void> }> => {
  if (!file) return { stop: async () => undefined }
  const session = new Session()
  session.connect()
  await session.post("Profiler.enable")
  await session.post("Profiler.start")
  return {
    stop: async () => {
      fs.writeFileSync(file, JSON.stringify((await session.post("Profiler.stop")).profile))
      session.disconnect()
    }
  }
}
