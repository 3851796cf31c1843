/**
 * Jobs finished and failed per minute over the last hour, as inline SVG: no script, no external request.
 */
import type { MinuteCount } from "../Admin.js"
import { html, type Html } from "./html.js"

const width = 720
const height = 140
const top = 10
const bottom = 20
const left = 40

export const throughputChart = (minutes: ReadonlyArray<MinuteCount>): Html => {
  const max = Math.max(1, ...minutes.map((m) => m.finished + m.failed))
  const plot = height - top - bottom
  const slot = (width - left) / Math.max(1, minutes.length)
  const scale = (n: number) => (n / max) * plot
  const bars = minutes.map((m, i) => {
    const x = left + i * slot + 1
    const w = Math.max(1, slot - 2)
    const finished = scale(m.finished)
    const failed = scale(m.failed)
    const label = `${m.minute.toISOString().slice(11, 16)} UTC: ${m.finished} finished, ${m.failed} failed`
    return html`<g><title>${label}</title>
      <rect class="finished" x="${x.toFixed(1)}" y="${(top + plot - finished).toFixed(1)}" width="${w.toFixed(1)}" height="${finished.toFixed(1)}"></rect>
      <rect class="failed" x="${x.toFixed(1)}" y="${(top + plot - finished - failed).toFixed(1)}" width="${w.toFixed(1)}" height="${failed.toFixed(1)}"></rect>
      <rect x="${x.toFixed(1)}" y="${top}" width="${w.toFixed(1)}" height="${plot}" fill="transparent"></rect></g>`
  })
  const first = minutes[0]?.minute.toISOString().slice(11, 16) ?? ""
  const last = minutes[minutes.length - 1]?.minute.toISOString().slice(11, 16) ?? ""
  return html`<svg class="chart" role="img" aria-label="Jobs finished and failed per minute, last hour" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
    <text x="4" y="${top + 8}">${max}</text><text x="4" y="${top + plot}">0</text>
    ${bars}
    <text x="${left}" y="${height - 5}">${first} UTC</text>
    <text x="${width - 4}" y="${height - 5}" text-anchor="end">${last} UTC</text>
  </svg>
  <div class="legend muted"><span><i class="sw finished"></i>finished</span><span><i class="sw failed"></i>failed</span></div>`
}
