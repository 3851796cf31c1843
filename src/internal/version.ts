/** The package's version, read from its package.json (two levels up from both src/internal and dist/internal). */
import * as fs from "node:fs"

export const version: string =
  (JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { readonly version: string }).version
