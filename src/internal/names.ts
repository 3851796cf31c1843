/**
 * The one rule for the names steady-queue stores in `VARCHAR(255)` columns (queue names, task names, concurrency
 * keys), so that every dialect accepts and refuses the same names and a name comes back exactly as it was given:
 * a non-empty string of well-formed UTF-16, no control characters, at most 255 code points (what PostgreSQL and
 * MySQL's utf8mb4 count; SQLite would store anything).
 */

export const maxNameLength = 255

export type NameKind = "queue name" | "task name" | "concurrency key"

// C0, DEL and C1: PostgreSQL cannot store NUL, and the others would reach terminals raw.
const control = /[\u0000-\u001f\u007f-\u009f]/
// With the `u` flag a surrogate pair is one code point, so this matches only lone surrogates, which PostgreSQL
// and MySQL would store as U+FFFD: the name read back would not be the name given.
const loneSurrogate = /\p{Surrogate}/u

/** Code points, not UTF-16 units: "🙂" is one character to the database. */
const codePoints = (s: string) => {
  let n = 0
  for (const _ of s) n++
  return n
}

/** Why `value` cannot be a `kind`, or undefined when it can. */
export const nameProblem = (kind: NameKind, value: unknown): string | undefined => {
  if (typeof value !== "string") return `${kind} must be a string, got ${value === null ? "null" : typeof value}`
  if (value.length === 0) return `${kind} must not be empty`
  if (control.test(value)) return `${kind} must not contain control characters (such as NUL or newline)`
  if (loneSurrogate.test(value)) return `${kind} must be well-formed Unicode (it has a lone surrogate)`
  if (value.length > maxNameLength && codePoints(value) > maxNameLength) {
    return `${kind} must be at most ${maxNameLength} characters, got ${codePoints(value)}`
  }
  return undefined
}

/** Queue names follow the name rule and have no `*`, which worker queue lists use as a wildcard. */
export const queueNameProblem = (queue: unknown): string | undefined =>
  nameProblem("queue name", queue) ??
    ((queue as string).includes("*") ? "queue name must not contain '*' (wildcards are for worker queue lists)" : undefined)
