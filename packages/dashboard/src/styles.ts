/**
 * The dashboard's look, put in the page once by `mountDashboard` (so the package needs no CSS
 * loader): uPlot's own rules that its layout needs (from uPlot.min.css, MIT), then ours.
 */
export const DASHBOARD_CSS = `
.uplot, .uplot *, .uplot *::before, .uplot *::after { box-sizing: border-box; }
.uplot { line-height: 1.5; width: min-content; }
.u-wrap { position: relative; user-select: none; }
.u-over, .u-under { position: absolute; }
.u-under { overflow: hidden; }
.uplot canvas { display: block; position: relative; width: 100%; height: 100%; }
.u-axis { position: absolute; }
.u-legend { font-size: 13px; margin: auto; text-align: center; }
.u-inline { display: block; }
.u-inline * { display: inline-block; }
.u-inline tr { margin-right: 16px; }
.u-legend th { font-weight: 600; }
.u-legend th > * { vertical-align: middle; display: inline-block; }
.u-legend .u-marker { width: 1em; height: 1em; margin-right: 4px; background-clip: padding-box !important; }
.u-inline:not(.u-live) .u-value { display: none; }
.u-series > * { padding: 4px; }
.u-series th { cursor: pointer; }
.u-legend .u-off > * { opacity: 0.3; }
.u-select { background: rgba(0, 0, 0, 0.07); position: absolute; pointer-events: none; }
.u-cursor-x, .u-cursor-y { position: absolute; left: 0; top: 0; pointer-events: none; will-change: transform; }
.u-hz .u-cursor-x, .u-vt .u-cursor-y { height: 100%; border-right: 1px dashed #607d8b; }
.u-hz .u-cursor-y, .u-vt .u-cursor-x { width: 100%; border-bottom: 1px dashed #607d8b; }
.u-cursor-pt { position: absolute; top: 0; left: 0; border-radius: 50%; border: 0 solid; pointer-events: none;
  will-change: transform; background-clip: padding-box !important; }
.u-axis.u-off, .u-select.u-off, .u-cursor-x.u-off, .u-cursor-y.u-off, .u-cursor-pt.u-off { display: none; }

.oiafed-dashboard { font: 14px/1.45 system-ui, sans-serif; color: #222; max-width: 60rem; margin: 0 auto; }
.oiafed-dashboard header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.4rem 1rem; }
.oiafed-dashboard h1 { font-size: 1.3rem; margin: 0.5rem 0; }
.oiafed-dashboard .oiafed-state { padding: 0.1em 0.7em; border-radius: 0.8em; background: #ddd; font-weight: 600; }
.oiafed-state[data-state='running'] { background: #cfe9d6; }
.oiafed-state[data-state='paused'], .oiafed-state[data-state='stopping'] { background: #fde7b0; }
.oiafed-state[data-state='finished'] { background: #c9dcf7; }
.oiafed-state[data-state='failed'], .oiafed-state[data-state='stopped'] { background: #f7d0c9; }
.oiafed-dashboard .oiafed-muted { color: #666; }
.oiafed-dashboard .oiafed-privacy { color: #4527a0; font-variant-numeric: tabular-nums; }
.oiafed-connection[data-connection='connected'] { color: #2e7d32; }
.oiafed-connection[data-connection='reconnecting'], .oiafed-connection[data-connection='failed'] { color: #c62828; }
.oiafed-controls { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; margin: 0.6rem 0; }
.oiafed-controls button { font: inherit; padding: 0.2rem 0.9rem; border-radius: 0.3rem; border: 1px solid #999;
  background: #f6f6f6; cursor: pointer; }
.oiafed-controls button:disabled { cursor: default; color: #aaa; border-color: #ddd; }
.oiafed-controls input { font: inherit; padding: 0.2rem 0.4rem; width: 12rem; }
.oiafed-control-hint, .oiafed-control-message { color: #666; font-size: 0.9em; }
.oiafed-chart { margin: 0.5rem 0 1rem; }
.oiafed-learners { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
.oiafed-learners th, .oiafed-learners td { padding: 0.2rem 0.6rem; border-bottom: 1px solid #eee; text-align: right;
  white-space: nowrap; }
.oiafed-learners [data-col='learner'], .oiafed-learners [data-col='state'],
.oiafed-learners [data-col='last result'] { text-align: left; }
.oiafed-learners td[data-col='last result'] { white-space: normal; font-size: 0.9em; }
.oiafed-learners td[data-state='training'], .oiafed-learners td[data-state='evaluating'] { color: #b26a00; }
.oiafed-learners td[data-state='disconnected'], .oiafed-learners td[data-state='timeout'] { color: #c62828; }
.oiafed-learners tfoot td { color: #666; text-align: left; }
`;
