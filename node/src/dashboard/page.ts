/**
 * The dashboard page: one self-contained HTML document (no external
 * scripts, fonts or styles, so it works on a node with no internet and
 * under a strict CSP). It renders `/api/snapshot` and keeps it live with
 * server-sent events from `/api/stream`, falling back to polling.
 */
import { DASHBOARD_SCRIPT } from './page-script.js'

const STYLE = `
:root { --bg: #f6f7f9; --card: #fff; --ink: #1c2430; --muted: #667085; --line: #e4e7ec;
  --ok: #12b76a; --warn: #f79009; --bad: #f04438; --info: #2e90fa; --bar: #d0d5dd; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--ink); }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 12px; padding: 14px 24px; background: var(--card); border-bottom: 1px solid var(--line); }
header h1 { font-size: 18px; margin: 0; letter-spacing: .02em; }
header .meta { color: var(--muted); font-size: 13px; }
header .live { margin-left: auto; color: var(--muted); font-size: 12px; }
header .live.on::before { content: "● "; color: var(--ok); }
header .live.off::before { content: "● "; color: var(--warn); }
main { padding: 18px 24px 40px; display: grid; gap: 18px; max-width: 1400px; }
section h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 0 0 8px; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 999px; font-weight: 600; font-size: 12px; color: #fff; }
.badge.ok { background: var(--ok); } .badge.bad { background: var(--bad); }
.problems { background: #fff4ed; border: 1px solid #fec84b; border-radius: 8px; padding: 8px 14px; margin: 0; list-style: none; }
.problems li { padding: 3px 0; } .problems li::before { content: "! "; color: var(--bad); font-weight: 700; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.tile .n { font-size: 22px; font-weight: 650; } .tile .l { color: var(--muted); font-size: 12px; }
.orgs { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card h3 { margin: 0 0 6px; font-size: 15px; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; font-weight: 500; color: var(--muted); font-size: 12px; padding: 4px 6px; border-bottom: 1px solid var(--line); }
td { padding: 5px 6px; border-bottom: 1px solid var(--line); vertical-align: middle; }
tr:last-child td { border-bottom: 0; }
tr[data-node] td:first-child { white-space: nowrap; }
tr[data-status="dead"] { opacity: .6; }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 6px; background: var(--bar); }
.dot.alive { background: var(--ok); } .dot.suspect { background: var(--warn); } .dot.dead { background: var(--bad); }
.id { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
.tag { font-size: 11px; border: 1px solid var(--line); border-radius: 4px; padding: 0 5px; margin-left: 4px; color: var(--muted); }
.bar { position: relative; width: 110px; height: 9px; background: #eef0f3; border-radius: 5px; overflow: hidden; display: inline-block; vertical-align: middle; }
.bar > i { position: absolute; left: 0; top: 0; bottom: 0; background: var(--info); }
.bar.high > i { background: var(--warn); } .bar.full > i { background: var(--bad); }
.barlabel { color: var(--muted); font-size: 11.5px; margin-left: 6px; }
.chip { display: inline-block; margin: 2px 4px 2px 0; padding: 1px 8px; border-radius: 999px; font-size: 12px; border: 1px solid var(--line); background: #f9fafb; }
.chip.healthy { border-color: #a6f4c5; background: #ecfdf3; } .chip.running { border-color: #fedf89; background: #fffaeb; }
.chip.missing { border-color: #fecdca; background: #fef3f2; }
.problem { color: var(--bad); font-size: 12px; }
.events { background: var(--card); border: 1px solid var(--line); border-radius: 8px; max-height: 420px; overflow: auto; }
.events td { font-size: 12.5px; }
.kind { font-family: ui-monospace, monospace; font-size: 11.5px; padding: 0 6px; border-radius: 4px; background: #f2f4f7; }
.kind.bad { background: #fef3f2; color: #b42318; } .kind.good { background: #ecfdf3; color: #027a48; }
.empty { color: var(--muted); padding: 8px 0; }
`

/** the dashboard page, one self-contained HTML document */
export function dashboardPage (): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>minga dashboard</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>minga</h1>
  <span id="health" class="badge">…</span>
  <span class="meta" id="meta">loading…</span>
  <span class="live off" id="live">connecting</span>
</header>
<main>
  <ul class="problems" id="problems" hidden></ul>
  <div class="tiles" id="tiles"></div>
  <section><h2>Organizations and nodes</h2><div class="orgs" id="orgs"></div></section>
  <section><h2>Services</h2><div class="card"><table id="services"></table></div></section>
  <section><h2>Recent events (every live node)</h2><div class="events"><table id="events"></table></div></section>
</main>
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`
}
