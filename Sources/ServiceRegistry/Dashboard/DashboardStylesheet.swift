/// The dashboard's stylesheet: light and dark through `prefers-color-scheme`, cards instead of a wide table
/// at phone width, visible keyboard focus.
enum DashboardStylesheet {
    static let source = #"""
:root {
  --bg: #f6f7f9; --fg: #1c2430; --muted: #5b6675; --panel: #ffffff; --border: #d8dde4; --accent: #1f5fbf;
  --row-alt: #f0f3f7; --focus: #1f5fbf;
  --healthy: #1a7f37; --healthy-bg: #dcf5e3; --unhealthy: #b42318; --unhealthy-bg: #fde4e1;
  --unknown: #5b6675; --unknown-bg: #e7eaee; --failed: #b42318; --inactive: #7a5c00; --inactive-bg: #fbf0cc;
  --danger: #b42318; color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #12161c; --fg: #e3e8ef; --muted: #9aa5b4; --panel: #1b2129; --border: #313a46; --accent: #7fb0ff;
    --row-alt: #181d24; --focus: #9cc2ff;
    --healthy: #6fdc8c; --healthy-bg: #16351f; --unhealthy: #ff8a80; --unhealthy-bg: #45191a;
    --unknown: #b4bfcc; --unknown-bg: #2a313b; --failed: #ff8a80; --inactive: #f2cc60; --inactive-bg: #3b3214;
    --danger: #ff8a80;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip-link { position: absolute; left: -999px; top: 0; background: var(--panel); padding: .5rem 1rem; z-index: 10; }
.skip-link:focus { left: .5rem; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.site-header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem 1.5rem; padding: .75rem 1.25rem; background: var(--panel); border-bottom: 1px solid var(--border); }
.site-header h1 { font-size: 1.2rem; margin: 0; }
.site-header h1 a { color: inherit; text-decoration: none; }
.site-header nav a { margin-right: 1rem; }
main { padding: 1rem 1.25rem 2rem; max-width: 1400px; margin: 0 auto; }
.counts { display: flex; flex-wrap: wrap; gap: .5rem; margin-bottom: 1rem; }
.count { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: .4rem .8rem; min-width: 6.5rem; }
.count-n { font-size: 1.4rem; font-weight: 650; display: block; font-variant-numeric: tabular-nums; }
.count-label { color: var(--muted); font-size: .85rem; }
.count-healthy .count-n { color: var(--healthy); }
.count-unhealthy .count-n, .count-failed .count-n { color: var(--unhealthy); }
.count-inactive .count-n { color: var(--inactive); }
.toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; margin: .5rem 0 1rem; }
.button { font: inherit; padding: .4rem .9rem; border-radius: 6px; border: 1px solid var(--border); background: var(--panel); color: var(--fg); cursor: pointer; }
.button:hover { border-color: var(--accent); }
.button.primary { background: var(--accent); color: var(--panel); border-color: var(--accent); }
.button.danger { color: var(--danger); border-color: var(--danger); }
.button[disabled] { opacity: .6; cursor: progress; }
.inline-status { color: var(--muted); }
.inline-status.error, .error { color: var(--danger); }
.inline-status.ok { color: var(--healthy); }
.muted, .muted-link { color: var(--muted); }
.panel { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: .75rem 1rem; margin-bottom: 1rem; }
.panel > summary { cursor: pointer; font-weight: 600; }
.panel h3 { margin: 0 0 .5rem; font-size: 1.05rem; }
.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; margin-bottom: .5rem; }
.filter { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); }
.filter select, .filter input { font: inherit; color: var(--fg); background: var(--panel); border: 1px solid var(--border); border-radius: 6px; padding: .3rem .5rem; min-height: 2.2rem; }
.filter.search input { min-width: 16rem; }
.summary, .refresh-status { color: var(--muted); font-size: .85rem; margin: .25rem 0; }
.table-wrap { overflow-x: auto; background: var(--panel); border: 1px solid var(--border); border-radius: 8px; }
/* Rows are grids rather than table rows (the elements stay table, row and cell for assistive technology), so
   that `content-visibility: auto` applies: the browser lays out and paints only the rows near the viewport,
   and 1,000 rows show as fast as a few dozen. */
table { border-collapse: collapse; width: 100%; }
#services, #services thead, #services tbody { display: block; }
#services tr { display: grid; grid-template-columns: minmax(8rem, 22%) minmax(0, 1fr) 6.5rem 8.5rem 6.5rem 4.5rem 7.5rem 5rem; align-items: start; border-bottom: 1px solid var(--border); }
#services tbody tr:last-child { border-bottom: 0; }
#services tbody tr { content-visibility: auto; contain-intrinsic-size: auto 2.6rem; }
th, td { text-align: left; padding: .45rem .6rem; min-width: 0; }
tbody tr:nth-child(even) { background: var(--row-alt); }
th { font-size: .85rem; white-space: nowrap; }
th a.sort { color: var(--fg); text-decoration: none; }
th a.sort:hover { text-decoration: underline; }
th[aria-sort="ascending"] .arrow::after { content: " ▲"; font-size: .7em; }
th[aria-sort="descending"] .arrow::after { content: " ▼"; font-size: .7em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td[data-col="name"] { font-weight: 600; overflow-wrap: anywhere; }
td[data-col="description"] { color: var(--muted); overflow-wrap: anywhere; }
td[data-col="checked"] { white-space: nowrap; }
.badge { display: inline-flex; align-items: center; gap: .35rem; padding: .05rem .5rem; border-radius: 999px; font-size: .85rem; white-space: nowrap; }
.badge .dot { width: .6rem; height: .6rem; border-radius: 50%; background: currentColor; }
.health-healthy { color: var(--healthy); background: var(--healthy-bg); }
.health-unhealthy { color: var(--unhealthy); background: var(--unhealthy-bg); font-weight: 600; }
.health-unknown { color: var(--unknown); background: var(--unknown-bg); }
.status-active { color: var(--healthy); }
.status-inactive { color: var(--inactive); background: var(--inactive-bg); }
.status-failed { color: var(--failed); background: var(--unhealthy-bg); font-weight: 600; }
.empty { padding: 1rem; color: var(--muted); }
.service-form { display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); gap: .5rem 1rem; margin-top: .75rem; }
.field { display: flex; flex-direction: column; gap: .2rem; }
.field label { font-size: .85rem; font-weight: 600; }
.field input, .field select, .field textarea { font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--border); border-radius: 6px; padding: .35rem .5rem; min-height: 2.2rem; width: 100%; }
.field [aria-invalid="true"] { border-color: var(--danger); box-shadow: 0 0 0 1px var(--danger); }
.field.checkbox { flex-direction: row; align-items: center; gap: .5rem; }
.field.checkbox input { width: auto; min-height: 0; }
.field .error { margin: 0; font-size: .85rem; min-height: 0; }
.hint { color: var(--muted); font-size: .8rem; }
.required { color: var(--danger); }
.form-error { grid-column: 1 / -1; margin: 0; }
.buttons { grid-column: 1 / -1; display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
.breadcrumb { margin: 0 0 .5rem; }
.service-title { margin: 0 0 .25rem; overflow-wrap: anywhere; }
.badges { margin: 0 0 .5rem; }
.fields { display: grid; grid-template-columns: repeat(auto-fill, minmax(18rem, 1fr)); gap: .25rem 1rem; margin: 0; }
.fields div { display: flex; gap: .5rem; border-bottom: 1px dashed var(--border); padding: .2rem 0; }
.fields dt { color: var(--muted); min-width: 10rem; font-size: .85rem; }
.fields dd { margin: 0; overflow-wrap: anywhere; }
.labels { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: .4rem; }
.labels li { border: 1px solid var(--border); border-radius: 6px; overflow: hidden; font-size: .85rem; }
.label-key { background: var(--row-alt); padding: .1rem .4rem; display: inline-block; }
.label-value { padding: .1rem .4rem; display: inline-block; }
.timeline { list-style: none; margin: 0; padding: 0 0 0 1rem; border-left: 2px solid var(--border); }
.timeline li { position: relative; padding: .25rem 0 .25rem .5rem; }
.timeline li::before { content: ""; position: absolute; left: -1.45rem; top: .65rem; width: .7rem; height: .7rem; border-radius: 50%; background: var(--unknown); }
.timeline li.to-healthy::before, .timeline li.to-active::before { background: var(--healthy); }
.timeline li.to-unhealthy::before, .timeline li.to-failed::before { background: var(--unhealthy); }
.timeline li.to-inactive::before { background: var(--inactive); }
.timeline time { color: var(--muted); font-size: .85rem; margin-right: .5rem; }
.event-detail { color: var(--muted); }
dialog { border: 1px solid var(--border); border-radius: 8px; background: var(--panel); color: var(--fg); max-width: min(32rem, 92vw); }
.checks-wrap { overflow-x: auto; max-width: 100%; }
.checks td { overflow-wrap: anywhere; font-size: .9rem; }
.check-critical { font-weight: 700; }
.uptime-bar, .latency-chart { display: block; max-width: 100%; height: auto; margin: .5rem 0; }
.uptime-bar text, .latency-chart text { fill: var(--fg); }
dialog::backdrop { background: rgba(0, 0, 0, .45); }
dialog input { font: inherit; width: 100%; padding: .35rem .5rem; margin: .25rem 0 .75rem; color: var(--fg); background: var(--bg); border: 1px solid var(--border); border-radius: 6px; }
@media (max-width: 700px) {
  main { padding: .75rem; }
  .counts { gap: .35rem; }
  .count { min-width: 0; flex: 1 1 22%; padding: .3rem .5rem; }
  .count-n { font-size: 1.15rem; }
  .filter, .filter.search { flex: 1 1 45%; }
  .filter.search input { min-width: 0; }
  .table-wrap { overflow-x: visible; background: none; border: 0; }
  #services thead tr { display: flex; flex-wrap: wrap; gap: .25rem .75rem; border: 0; }
  #services thead th { border: 0; padding: .2rem 0; }
  #services thead th:last-child { display: none; }
  #services tbody tr { display: block; contain-intrinsic-size: auto 11rem; background: var(--panel) !important; border: 1px solid var(--border); border-radius: 8px; margin-bottom: .5rem; padding: .35rem .6rem; }
  #services td { border: 0; padding: .1rem 0; display: flex; gap: .5rem; }
  td[data-col]::before { color: var(--muted); font-size: .8rem; min-width: 6.5rem; font-weight: 400; }
  td[data-col="name"]::before { content: "Name"; }
  td[data-col="description"]::before { content: "Description"; }
  td[data-col="status"]::before { content: "Status"; }
  td[data-col="health"]::before { content: "Health"; }
  td[data-col="response"]::before { content: "Response"; }
  td[data-col="port"]::before { content: "Port"; }
  td[data-col="checked"]::before { content: "Last check"; }
  td[data-col="description"]:empty { display: none; }
  td.num { text-align: left; }
  td[data-col="description"] { max-width: none; }
  .fields dt { min-width: 8rem; }
}
"""#
}
