/**
 * Ends the run with one plain line that any CI can read: "N passed, N failed", then ", N skipped" and ", N todo"
 * when there are any. Tests are counted as vitest's own summary counts them (passed and failed by result,
 * skipped and todo by mode). Whatever else fails the run (an unhandled error, a suite whose hook or import failed)
 * is counted as failed too, and listed, so the line never says "0 failed" when vitest failed:
 * "3 passed, 3 failed (1 test, 1 suite, 1 unhandled error)".
 */
import type { File, Task } from "@vitest/runner"
import type { Reporter } from "vitest/node"

const walk = (task: Task): Array<Task> => [task, ...("tasks" in task ? task.tasks.flatMap(walk) : [])]

const counted = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`

export const summaryLine = (files: ReadonlyArray<File>, errors: ReadonlyArray<unknown>) => {
  const all = files.flatMap(walk)
  const tests = all.filter((t) => t.type === "test")
  const passed = tests.filter((t) => t.result?.state === "pass").length
  const failedTests = tests.filter((t) => t.result?.state === "fail").length
  const skipped = tests.filter((t) => t.mode === "skip").length
  const todo = tests.filter((t) => t.mode === "todo").length
  // Files are suites too: one that failed to load has errors of its own and no tests.
  const failedSuites = all.filter((t) => t.type === "suite" && (t.result?.errors?.length ?? 0) > 0).length
  const failed = failedTests + failedSuites + errors.length
  const besides = failedSuites + errors.length === 0 ? "" : ` (${
    [
      counted(failedTests, "test"),
      failedSuites > 0 ? counted(failedSuites, "suite") : "",
      errors.length > 0 ? counted(errors.length, "unhandled error") : ""
    ].filter(Boolean).join(", ")
  })`
  return `${passed} passed, ${failed} failed${besides}${skipped > 0 ? `, ${skipped} skipped` : ""}${todo > 0 ? `, ${todo} todo` : ""}`
}

export default class SummaryReporter implements Reporter {
  // After the default reporter's own summary, so this is the last line printed.
  onFinished(files: Array<File> = [], errors: ReadonlyArray<unknown> = []) {
    process.stdout.write(`\n${summaryLine(files, errors)}\n`)
  }
}
