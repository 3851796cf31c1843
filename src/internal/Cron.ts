/**
 * Cron schedules: effect's `Cron` (5 or 6 fields, month and weekday names, an IANA time zone) plus the
 * `@yearly`-style aliases it lacks.
 */
import { Cron, Either } from "effect"

const aliases: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *"
}

export const expand = (schedule: string) => aliases[schedule.trim().toLowerCase()] ?? schedule.trim()

/** Parses a schedule; the error says what is wrong in words. */
export const parse = (schedule: string, timeZone?: string | null): Either.Either<Cron.Cron, string> => {
  const expanded = expand(schedule)
  const fields = expanded.split(/\s+/).length
  if (fields !== 5 && fields !== 6) {
    return Either.left(`"${schedule}" has ${fields} fields; a schedule has 5 (minute first) or 6 (second first), or is an alias such as @daily`)
  }
  try {
    return Either.mapLeft(Cron.parse(expanded, timeZone ?? undefined), (e) => `"${schedule}": ${e.message}`)
  } catch (e) {
    // An unknown time zone throws rather than failing.
    return Either.left(`"${schedule}" in time zone "${timeZone}": ${e instanceof Error ? e.message : String(e)}`)
  }
}
