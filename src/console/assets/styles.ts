/**
 * The console's one stylesheet. Kept as a string module so wrangler, the test bundler and
 * vitest all load it without loader configuration; served from `/console/assets/`.
 * Colours meet WCAG AA contrast on their backgrounds (text ≥ 4.5:1, borders and focus ≥ 3:1).
 */
export const STYLES = `
:root {
  --bg: #f5f6f8; --panel: #fff; --text: #172033; --muted: #4b5565; --line: #d5dae1;
  --accent: #1d4ed8; --accent-text: #fff; --danger: #b42318; --ok: #067647; --warn: #935f00;
  --focus: #1d4ed8; --radius: 8px;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--text); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.vh { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 1rem; top: 1rem; background: var(--panel); padding: .5rem 1rem; z-index: 10; }
header.top { background: #0f1b33; color: #fff; }
header.top .bar { max-width: 1200px; margin: 0 auto; padding: .75rem 1rem; display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; }
header.top a { color: #fff; text-decoration: none; }
header.top a:hover, header.top a[aria-current="page"] { text-decoration: underline; }
.brand { font-weight: 700; font-size: 1.1rem; margin-right: auto; }
header.top nav ul { list-style: none; display: flex; gap: 1rem; margin: 0; padding: 0; }
.who { display: flex; gap: .75rem; align-items: center; font-size: .9rem; color: #dbe3f0; }
.who button { background: transparent; color: #fff; border-color: #9fb0cc; }
main { max-width: 1200px; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 0 0 .75rem; }
.sub { color: var(--muted); margin: 0 0 1.25rem; }
.grid { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); padding: 1rem 1.25rem; margin-bottom: 1rem; min-width: 0; }
.panel.narrow { max-width: 460px; margin: 2rem auto; }
.table-wrap { overflow-x: auto; position: relative; }
table { width: 100%; border-collapse: collapse; font-size: .93rem; }
caption { text-align: left; color: var(--muted); padding-bottom: .5rem; }
th, td { text-align: left; padding: .5rem .6rem; border-bottom: 1px solid var(--line); vertical-align: middle; }
th { font-weight: 600; color: var(--muted); font-size: .85rem; text-transform: uppercase; letter-spacing: .02em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: .05rem .55rem; border-radius: 999px; font-size: .8rem; font-weight: 600; border: 1px solid currentColor; }
.badge.active, .badge.succeeded { color: var(--ok); }
.badge.suspended, .badge.pending, .badge.sent, .badge.dry_run { color: var(--warn); }
.badge.deleted, .badge.failed, .badge.dead { color: var(--danger); }
.usage { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: .1rem .5rem; align-items: center; min-width: 130px; font-size: .85rem; }
.usage .label { color: var(--muted); grid-column: 1 / -1; }
.usage .of { font-variant-numeric: tabular-nums; min-width: 13ch; text-align: right; }
meter { width: 100%; height: .7rem; }
meter::-webkit-meter-bar { background: #e7eaf0; border: 1px solid #b8c0cc; border-radius: 4px; }
meter::-webkit-meter-optimum-value { background: var(--ok); }
meter::-webkit-meter-suboptimum-value { background: #c98a00; }
meter::-webkit-meter-even-less-good-value { background: var(--danger); }
.at-limit { color: var(--danger); font-weight: 600; }
form.inline { display: inline; }
.field { display: flex; flex-direction: column; gap: .25rem; margin-bottom: .9rem; }
.field label { font-weight: 600; font-size: .9rem; }
.hint { color: var(--muted); font-size: .85rem; }
.page-head { display: flex; flex-wrap: wrap; gap: .5rem 1rem; justify-content: space-between; align-items: flex-start; margin-bottom: 1rem; }
.page-head .sub { margin-bottom: 0; }
td time { white-space: nowrap; }
.row { display: flex; flex-wrap: wrap; gap: .75rem; align-items: flex-end; }
.row .field { margin-bottom: 0; }
input, select, textarea { font: inherit; padding: .45rem .6rem; border: 1px solid #8a94a6; border-radius: 6px; background: #fff; color: var(--text); min-width: 0; }
button, .button { font: inherit; font-weight: 600; padding: .45rem .95rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-text); cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); }
button.danger, .button.danger { background: var(--danger); border-color: var(--danger); color: #fff; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; }
.panel form.row { margin-top: .9rem; }
h3 { font-size: .95rem; margin: 1rem 0 .4rem; }
.alert { border-radius: var(--radius); padding: .75rem 1rem; margin-bottom: 1rem; border: 1px solid; background: #fff; }
.alert.error { border-color: var(--danger); background: #fef3f2; }
.alert.notice { border-color: var(--ok); background: #ecfdf3; }
.alert.warn { border-color: #c98a00; background: #fffaeb; }
.alert strong { display: block; }
.alert ul { margin: .25rem 0 0; padding-left: 1.25rem; }
.alert .rid { color: var(--muted); font-size: .8rem; }
.secret { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
.secret code { background: #0f1b33; color: #e6edf7; padding: .4rem .6rem; border-radius: 6px; word-break: break-all; font-size: .9rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.muted { color: var(--muted); }
ol.timeline { list-style: none; margin: 0; padding: 0; }
ol.timeline li { border-left: 3px solid var(--line); padding: .25rem 0 .75rem .9rem; position: relative; }
ol.timeline li.succeeded { border-color: var(--ok); }
ol.timeline li.failed, ol.timeline li.dead { border-color: var(--danger); }
ol.timeline li.pending, ol.timeline li.sent, ol.timeline li.dry_run { border-color: #c98a00; }
.error-text { color: var(--danger); }
.chart { width: 100%; height: auto; max-height: 220px; }
.chart .bar { fill: var(--accent); }
.chart .axis { stroke: #8a94a6; stroke-width: 1; }
.chart text { fill: var(--muted); font-size: 11px; }
.sparkline { width: 100%; height: auto; max-height: 64px; }
.sparkline .line { fill: none; stroke: var(--accent); stroke-width: 2; stroke-linejoin: round; }
.sparkline .area { fill: var(--accent); opacity: .15; }
.sparkline .day { fill: transparent; }
.sparkline .last { fill: var(--accent); }
.pager { display: flex; justify-content: flex-end; margin-top: .75rem; }
.budget { font-size: .85rem; color: var(--muted); margin: 0 0 1rem; }
@media (max-width: 640px) {
  main { padding: 1rem .75rem 2rem; }
  .panel { padding: .75rem; }
  .who { width: 100%; justify-content: space-between; }
  th, td { padding: .4rem; }
}
`;
