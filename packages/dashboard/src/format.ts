import type { ClientStatus, Metrics, RoundPoint } from '@oiafed/core';

/** 1,234 B, 12.3 KB, 4.5 MB, ...; a dash when the link does not count bytes. */
export function bytes(n: number | undefined): string {
  if (n === undefined) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** A run's privacy as the dashboard shows it beside the round: "ε 3.19 of 5 at δ 1e-5". */
export function privacyFigure(privacy: NonNullable<RoundPoint['privacy']>): string {
  const budget = privacy.budget === undefined ? '' : ` of ${privacy.budget}`;
  return `\u03b5 ${privacy.epsilon.toFixed(2)}${budget} at \u03b4 ${privacy.delta.toExponential()}`;
}

/** 2.5 s, 1 min 05 s, 1 h 02 min. */
export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, '0')} min`;
}

/** A metric value short enough for a table cell. */
export function metric(value: number): string {
  const abs = Math.abs(value);
  return abs !== 0 && (abs >= 1e5 || abs < 1e-3) ? value.toExponential(2) : value.toFixed(abs >= 100 ? 1 : 4);
}

/** "round 3 · 600 examples · loss 0.3124"; "round 3 · masked · 600 examples · ..." under secure aggregation. */
export function lastResult(result: ClientStatus['lastResult']): string {
  if (!result) return '–';
  const metrics = Object.entries(result.metrics).map(([name, value]) => `${name} ${metric(value)}`);
  const masked = result.masked ? ['masked'] : [];
  return [`round ${result.round}`, ...masked, `${result.numExamples} examples`, ...metrics].join(' · ');
}

/** The first of `names` that `metrics` holds. */
export function pick(metrics: Metrics, names: readonly string[]): number | null {
  for (const name of names) {
    const value = metrics[name];
    if (typeof value === 'number' && Number.isFinite(value)) return value;
  }
  return null;
}
