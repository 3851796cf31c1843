/**
 * How times and durations read on the dashboard and in the terminal.
 */
import { Option } from "effect"

/** "850ms", "42s", "3m 4s", "2h 5m", "3d 4h". */
export const duration = (ms: number): string => {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${s % 60}s`
  const h = Math.floor(m / 60)
  if (h < 24) return `${h}h ${m % 60}m`
  return `${Math.floor(h / 24)}d ${h % 24}h`
}

/** "3m 4s ago" or "in 3m 4s". */
export const relative = (date: Date, now: number): string => {
  const ms = date.getTime() - now
  return ms > 0 ? `in ${duration(ms)}` : `${duration(-ms)} ago`
}

/** "2026-11-23 12:00:05 UTC". */
export const timestamp = (date: Date): string => date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC")

export const optional = <A>(value: Option.Option<A>, show: (a: A) => string, none = "-"): string =>
  Option.match(value, { onNone: () => none, onSome: show })
