/**
 * Ends the run with one plain line, "N passed, N failed, N skipped", that any CI can read.
 */
import type { File, Task } from "@vitest/runner"
import type { Reporter } from "vitest/node"

const tests = (task: Task): Array<Task> => (task.type === "test" ? [task] : "tasks" in task ? task.tasks.flatMap(tests) : [])

export default class SummaryReporter implements Reporter {
  // After the default reporter's own summary, so this is the last line printed.
  onFinished(files: Array<File> = [], errors: Array<unknown> = []) {
    const all = files.flatMap(tests)
    const passed = all.filter((t) => t.result?.state === "pass").length
    const failed = all.filter((t) => t.result?.state === "fail").length + errors.length
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${all.length - passed - (failed - errors.length)} skipped\n`)
  }
}
