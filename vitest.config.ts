import { defineConfig } from "vitest/config"
import { scaled, timeScale, timeScaleVariable } from "./test/support/scale.js"

// Computed once here, so that every test worker (they inherit the environment) uses the same time scale.
process.env[timeScaleVariable] = String(timeScale)

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Above the default bound of `eventually` (60 s), so that a wait that fails says what it waited for.
    testTimeout: scaled(90_000),
    hookTimeout: scaled(90_000),
    globalSetup: ["./test/support/child-bundles.ts"],
    reporters: ["default", "./test/support/summary-reporter.ts"],
    // Two cores: one worker per dialect file is plenty, and keeps the process races honest.
    maxWorkers: 3,
    minWorkers: 1
  }
})
