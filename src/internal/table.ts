/**
 * Plain-text tables for the terminal: a header row and columns padded to their widest cell, numbers on the right.
 */

export interface Column {
  readonly header: string
  readonly align?: "left" | "right"
}

const gap = "  "

const pad = (text: string, width: number, align: Column["align"]) =>
  align === "right" ? text.padStart(width) : text.padEnd(width)

/** Control characters (escape sequences in a task name or an error, say) are shown as "?", never sent to the terminal. */
const printable = (text: string) => text.replace(/[\x00-\x1f\x7f-\x9f]/g, "?")

/** Renders `rows` under `columns`; a row with fewer cells than columns is padded with empty cells. */
export const table = (columns: ReadonlyArray<Column>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const header = columns.map((c) => c.header)
  const cells = rows.map((row) => columns.map((_, i) => printable(row[i] ?? "")))
  const widths = columns.map((_, i) => Math.max(header[i].length, ...cells.map((row) => row[i].length)))
  const line = (row: ReadonlyArray<string>) =>
    row.map((cell, i) => pad(cell, widths[i], columns[i].align)).join(gap).trimEnd()
  return [header, ...cells].map(line).join("\n")
}

/** The first line of `text`, cut to `max` characters with an ellipsis, so a cell never breaks the layout. */
export const oneLine = (text: string, max: number): string => {
  const lines = text.trim().split(/\r?\n/)
  const first = lines[0].trim()
  const shown = lines.length > 1 ? `${first} …` : first
  return shown.length <= max ? shown : `${first.slice(0, Math.max(0, max - 1))}…`
}
