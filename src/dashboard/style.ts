/** The dashboard's only stylesheet, served from the dashboard itself (no CDN, no inline styles). */
export const stylesheet = `
:root { --fg: #1d2430; --muted: #667085; --line: #e4e7ec; --bg: #f8f9fb; --accent: #3559e0; --ok: #1f9d55; --bad: #d92d20; --warn: #b54708; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { background: #101828; color: #fff; padding: 0 24px; display: flex; align-items: center; gap: 24px; height: 48px; }
header .brand { font-weight: 700; letter-spacing: .02em; }
header nav a { color: #d0d5dd; text-decoration: none; margin-right: 16px; }
header nav a.active, header nav a:hover { color: #fff; }
main { padding: 20px 24px; max-width: 1280px; }
h1 { font-size: 20px; margin: 0 0 16px; } h2 { font-size: 16px; margin: 24px 0 8px; }
a { color: var(--accent); }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; color: var(--muted); background: #fcfcfd; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
.tabs { display: flex; gap: 4px; margin-bottom: 12px; flex-wrap: wrap; }
.tabs a { padding: 6px 12px; border: 1px solid var(--line); border-radius: 6px; background: #fff; text-decoration: none; color: var(--fg); }
.tabs a.active { background: var(--accent); border-color: var(--accent); color: #fff; }
.tabs .count { color: inherit; opacity: .7; margin-left: 4px; }
form.inline { display: inline; margin: 0; }
.bar { display: flex; gap: 8px; align-items: center; margin: 8px 0 12px; flex-wrap: wrap; }
input[type=text] { padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; }
button { padding: 4px 10px; border-radius: 6px; border: 1px solid var(--line); background: #fff; cursor: pointer; font: inherit; }
button:hover { border-color: var(--accent); }
button.danger { color: var(--bad); } button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; background: var(--line); }
.badge.paused { background: #fef0c7; color: var(--warn); } .badge.failed { background: #fee4e2; color: var(--bad); }
.badge.ok { background: #d1fadf; color: var(--ok); } .badge.stale { background: #fee4e2; color: var(--bad); }
.badge.cancelled { background: #eaecf0; color: var(--muted); } .badge.cancelling { background: #fef0c7; color: var(--warn); }
details summary { cursor: pointer; color: var(--muted); font-size: 12px; margin-top: 4px; } details pre { margin: 4px 0 0; }
.flash { padding: 8px 12px; border-radius: 6px; margin-bottom: 12px; background: #d1fadf; color: #05603a; }
.flash.error { background: #fee4e2; color: #912018; }
pre { background: #101828; color: #e4e7ec; padding: 12px; border-radius: 6px; overflow: auto; white-space: pre-wrap; word-break: break-word; }
dl { display: grid; grid-template-columns: 180px 1fr; gap: 4px 16px; background: #fff; border: 1px solid var(--line); padding: 12px; }
dt { color: var(--muted); } dd { margin: 0; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin-bottom: 16px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 120px; text-decoration: none; color: var(--fg); }
.card .n { font-size: 20px; font-weight: 600; } .card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; }
svg.chart { background: #fff; border: 1px solid var(--line); border-radius: 8px; }
svg.chart .finished { fill: #32d583; } svg.chart .failed { fill: #f97066; } svg.chart text { fill: var(--muted); font-size: 10px; }
.legend span { margin-right: 12px; } .legend .sw { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
.legend .sw.finished { background: #32d583; } .legend .sw.failed { background: #f97066; }
.pager { margin-top: 12px; display: flex; gap: 12px; }
`
