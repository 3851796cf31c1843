#!/usr/bin/env node
// Loads TypeScript (the CLI and the user's configuration module) through tsx, then runs the CLI.
import { register } from "tsx/esm/api"

register()
await import("../src/bin.ts")
