/**
 * HTML built from tagged templates in which every interpolated value is escaped unless it is itself `Html`:
 * a payload or error message containing markup renders as text.
 */
export class Html {
  constructor(readonly value: string) {}
  toString() {
    return this.value
  }
}

export type Interpolation = Html | string | number | boolean | null | undefined | ReadonlyArray<Interpolation>

const entities: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;", "`": "&#96;" }

export const escape = (text: string): string => text.replace(/[&<>"'`]/g, (c) => entities[c])

const render = (value: Interpolation): string =>
  value instanceof Html
    ? value.value
    : Array.isArray(value)
    ? value.map(render).join("")
    : value === null || value === undefined || value === false
    ? ""
    : escape(String(value))

export const html = (strings: TemplateStringsArray, ...values: ReadonlyArray<Interpolation>): Html =>
  new Html(strings.reduce((out, s, i) => out + s + (i < values.length ? render(values[i]) : ""), ""))

/** Markup that is already safe (constants written here, never user data). */
export const raw = (markup: string): Html => new Html(markup)
