import { barChart, esc } from '../client/html-report';
import type { PolicyFigures, ShadowComparison } from '../rollout/shadow';
import { planThreshold, rate, renderSnapshotMarkdown, snapshotSummary, type DailySnapshot, type RolloutTimeline } from './snapshot';
import type { StabilityReport } from './stability';

/**
 * The ops report people look at (`neuro report`, GET /report): the last N days of one environment
 * as inline-SVG charts against the plan's thresholds, and each rollout's timeline with its gate
 * evaluations and decisions. Every chart is a <figure class="chart" data-points="N">: N marks drawn.
 */

export interface OpsReportData {
  environment: string;
  from: string;
  to: string;
  days: DailySnapshot[];
  stability: StabilityReport;
  rollouts: RolloutTimeline[];
}

const STATUS_COLOR: Record<string, string> = { pass: '#2e7d32', fail: '#c0392b', inconclusive: '#b8860b' };

function figure(title: string, points: number, svg: string, note = ''): string {
  return `<figure class="chart" data-points="${points}"><figcaption>${esc(title)}</figcaption>${points ? svg : '<p class="empty">no data in this window</p>'}${note}</figure>`;
}

type Bar = { label: string; value: number; color?: string; title?: string };
const label = (day: string) => day.slice(5);

/** One bar per day that has a value; colour red when it breaks the plan's threshold. */
function perDay(days: DailySnapshot[], pick: (s: ReturnType<typeof snapshotSummary>) => number | null, fmt: (v: number) => string, breaks?: (v: number) => boolean): Bar[] {
  const out: Bar[] = [];
  for (const d of days) {
    const v = pick(snapshotSummary(d));
    if (v === null) continue;
    out.push({ label: label(d.day), value: v, color: breaks?.(v) ? '#c0392b' : undefined, title: `${d.day}: ${fmt(v)}` });
  }
  return out;
}

/** A rollout on a time axis: one row per gate and environment, a dot per evaluation, a line per decision. */
const CHAMPION = '#4a7fb5';
const CHALLENGER = '#e67e22';

/**
 * The shadow A/B of a rollout: per demand class (and overall) the plan's MAPE and the outlier count,
 * champion (blue, before) beside challenger (orange, after).
 */
export function shadowFigures(sh: ShadowComparison): string[] {
  const groups = [['overall', sh.overall] as const, ...Object.entries(sh.byClass)];
  const bars = (value: (f: PolicyFigures) => number | null, unit: string): Bar[] =>
    groups.flatMap(([cls, f]) =>
      (['champion', 'challenger'] as const).flatMap((side) => {
        const v = value(f[side]);
        const name = side === 'champion' ? sh.champion : sh.challenger;
        return v === null ? [] : [{ label: `${cls} ${side === 'champion' ? 'before' : 'after'}`, value: v, color: side === 'champion' ? CHAMPION : CHALLENGER, title: `${cls}, ${name}: ${+v.toFixed(2)} ${unit} (${f[side].skus} SKU rows)` }];
      }),
    );
  const mape = bars((f) => f.mape, '%');
  const outliers = bars((f) => f.outlierCount, 'outlier SKUs');
  const caption = `over ${sh.cycles} cycle(s): ${sh.champion} (blue, before) vs ${sh.challenger} (orange, after)`;
  return [
    figure(`Shadow A/B, plan MAPE per demand class ${caption}`, mape.length, barChart(mape, { yLabel: 'MAPE %', height: 220, refLine: { value: 20, label: 'P3: overall < 20%' } })),
    figure(`Shadow A/B, outlier SKUs per demand class ${caption}`, outliers.length, barChart(outliers, { yLabel: 'SKUs', height: 220, refLine: { value: 3, label: 'P3: <= 3' } })),
  ];
}

export function rolloutTimelineSvg(r: RolloutTimeline, now: string): { svg: string; points: number } {
  const start = Date.parse(r.startedAt);
  const end = Math.max(start + 1000, Date.parse(r.finishedAt ?? now), ...r.gates.map((g) => Date.parse(g.at)), ...r.events.map((e) => Date.parse(e.at)));
  const rows = [...new Set(r.gates.map((g) => `${g.gate} @ ${g.environment}`))];
  const width = 720;
  const left = 190;
  const rowH = 18;
  const top = 24;
  const height = top + rows.length * rowH + 20 + r.events.length * 14;
  const x = (t: string) => left + ((Date.parse(t) - start) / (end - start)) * (width - left - 12);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`];
  parts.push(`<text x="${left}" y="12">${esc(r.startedAt.slice(0, 19).replace('T', ' '))}</text>`);
  parts.push(`<text x="${width - 12}" y="12" text-anchor="end">${esc(new Date(end).toISOString().slice(0, 19).replace('T', ' '))}</text>`);
  rows.forEach((row, i) => {
    const y = top + i * rowH + rowH / 2;
    parts.push(`<text x="${left - 8}" y="${y + 4}" text-anchor="end">${esc(row)}</text>`, `<line x1="${left}" x2="${width - 12}" y1="${y}" y2="${y}" stroke="#eee"/>`);
  });
  for (const g of r.gates) {
    const y = top + rows.indexOf(`${g.gate} @ ${g.environment}`) * rowH + rowH / 2;
    const measured = g.measured === null ? 'no value' : `${+g.measured.toPrecision(4)}`;
    parts.push(
      `<circle class="mark" cx="${x(g.at)}" cy="${y}" r="5" fill="${STATUS_COLOR[g.status] ?? '#888'}"><title>${esc(`${g.at} ${g.gate} (${g.environment}): ${g.status}, measured ${measured} ${g.comparator ?? ''} ${g.threshold ?? ''}`)}</title></circle>`,
    );
  }
  const axisY = top + rows.length * rowH + 6;
  r.events.forEach((e, i) => {
    const ex = x(e.at);
    const color = e.kind === 'rollback' || e.kind === 'no-go' ? '#c0392b' : e.kind === 'go' || e.kind === 'confirm' ? '#2e7d32' : '#4a7fb5';
    parts.push(
      `<line class="mark" x1="${ex}" x2="${ex}" y1="${top - 4}" y2="${axisY}" stroke="${color}" stroke-dasharray="3 2"><title>${esc(`${e.at} ${e.text}`)}</title></line>`,
      `<text x="${left}" y="${axisY + 12 + i * 14}" fill="${color}">${esc(`${e.at.slice(11, 19)} ${e.text}`.slice(0, 80))}</text>`,
    );
  });
  parts.push('</svg>');
  return { svg: parts.join(''), points: r.gates.length + r.events.length };
}

export function renderOpsReport(d: OpsReportData, now = new Date().toISOString()): string {
  const th = (gate: Parameters<typeof planThreshold>[0]) => planThreshold(gate)?.value;
  const durationMax = th('forecast-duration');
  const memoryMax = th('peak-memory');
  const mapeMax = th('mape');
  const peakMissMax = th('peak-hour-misses');
  const hitTarget = th('cache-hit-rate');
  const charts: string[] = [];
  const chart = (title: string, bars: Bar[], yLabel: string, ref?: { value: number; label: string }) =>
    charts.push(figure(title, bars.length, barChart(bars, { yLabel, height: 220, refLine: ref })));

  chart(
    'Forecast run duration per day (longest completed run)',
    perDay(d.days, (s) => (s.maxDurationMs === null ? null : s.maxDurationMs / 1000), (v) => `${v.toFixed(1)} s`, (v) => durationMax !== undefined && v * 1000 >= durationMax),
    'seconds',
    durationMax === undefined ? undefined : { value: durationMax / 1000, label: `plan: < ${durationMax / 1000} s` },
  );
  chart(
    'Peak memory per day',
    perDay(d.days, (s) => s.peakMemoryPct, (v) => `${v.toFixed(1)}%`, (v) => memoryMax !== undefined && v >= memoryMax),
    '% of memory limit',
    memoryMax === undefined ? undefined : { value: memoryMax, label: `plan: < ${memoryMax}%` },
  );
  chart(
    'MAPE per day (mean over completed runs)',
    perDay(d.days, (s) => s.mape, (v) => `${v.toFixed(1)}%`, (v) => mapeMax !== undefined && v >= mapeMax),
    'MAPE %',
    mapeMax === undefined ? undefined : { value: mapeMax, label: `plan: < ${mapeMax}%` },
  );
  chart('Outlier SKUs per day', perDay(d.days, (s) => s.outliers, (v) => `${v} SKUs`), 'SKUs', { value: 3, label: 'P3 target: <= 3' });
  chart(
    'Cache miss rate per day (100 - hit rate)',
    perDay(d.days, (s) => (s.hitRatePct === null ? null : 100 - s.hitRatePct), (v) => `${v.toFixed(3)}% misses`, (v) => hitTarget !== undefined && 100 - v <= hitTarget),
    'misses %',
    hitTarget === undefined ? undefined : { value: 100 - hitTarget, label: `plan: hit rate > ${hitTarget}%` },
  );
  const peakBars: Bar[] = d.days.flatMap((day) =>
    day.peaks
      .filter((p) => p.hits + p.misses > 0)
      .map((p) => {
        const v = rate(p.misses, p.hits + p.misses) as number;
        return {
          label: `${label(day.day)} ${p.label.slice(0, 3)}`,
          value: v,
          color: peakMissMax !== undefined && v >= peakMissMax ? '#c0392b' : p.label === 'morning' ? '#4a7fb5' : '#7b5ea7',
          title: `${day.day} ${p.label} peak (${p.start.slice(11, 16)} UTC): ${v.toFixed(3)}% of ${p.hits + p.misses} requests missed`,
        };
      }),
  );
  chart('Peak-hour misses per window (blue morning, purple afternoon)', peakBars, 'misses %', peakMissMax === undefined ? undefined : { value: peakMissMax, label: `plan: < ${peakMissMax}%` });
  chart(
    'Stability score per day: points below 100 (A+ needs < 0.5)',
    perDay(d.days, (s) => (s.stability === null ? null : 100 - s.stability), (v) => `score ${(100 - v).toFixed(2)}`, (v) => v > 0.5),
    'points lost',
    { value: 0.5, label: 'A+ (99.5)' },
  );

  const rollouts = d.rollouts.map((r) => {
    const t = rolloutTimelineSvg(r, now);
    const timeline = figure(`Rollout ${r.release}${r.plan ? ` (${r.plan})` : ''}: ${r.status}, stage ${r.stage}`, t.points, t.svg);
    return r.shadow ? [timeline, ...shadowFigures(r.shadow)].join('\n') : timeline;
  });

  const s = d.stability;
  const incidents = s.incidents.length
    ? `<ul>${s.incidents.map((i) => `<li>${esc(i.at)} <b>${esc(i.kind)}</b>: ${esc(i.what)}</li>`).join('')}</ul>`
    : '<p>No incidents.</p>';
  const latest = d.days.at(-1);
  return [
    // data: icon: no favicon request (a 404 in the browser console) when served by the API
    '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">',
    `<title>Ops report ${esc(d.environment)} ${esc(d.from.slice(0, 10))} .. ${esc(d.to.slice(0, 10))}</title>`,
    '<style>body{font-family:sans-serif;max-width:780px;margin:24px auto;color:#222}figure{margin:18px 0}figcaption{font-weight:bold;margin-bottom:4px}td,th{padding:3px 8px;text-align:left;border-bottom:1px solid #eee}.empty{color:#888}pre{white-space:pre-wrap}</style>',
    `</head><body><h1>Ops report: ${esc(d.environment)}, ${d.days.length} days to ${esc(d.to.slice(0, 10))}</h1>`,
    `<p>Stability score over the window: <b>${s.score === null ? 'no data' : `${s.score.toFixed(2)}/100`}</b> (grade <b>${esc(s.grade)}</b>), ${s.incidents.length} incidents.</p>`,
    `<table><tr><th>component</th><th>value</th><th>weight</th><th>detail</th></tr>${s.components
      .map((c) => `<tr><td>${esc(c.label)}</td><td>${c.value === null ? 'n/a' : c.value.toFixed(2)}</td><td>${c.weight}</td><td>${esc(c.detail)}</td></tr>`)
      .join('')}</table>`,
    '<h2>Incidents</h2>',
    incidents,
    '<h2>Forecasting and serving, per day</h2>',
    ...charts,
    '<h2>Rollouts</h2>',
    rollouts.length ? rollouts.join('\n') : '<p>No rollout in this window.</p>',
    latest ? `<h2>Latest daily snapshot</h2><pre>${esc(renderSnapshotMarkdown(latest))}</pre>` : '',
    '</body></html>',
  ].join('\n');
}

/** A stored daily snapshot as a page (`neuro report daily --format html`). */
export function renderSnapshotHtml(s: DailySnapshot): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Daily snapshot ${esc(s.environment)} ${esc(s.day)}</title></head><body><pre>${esc(renderSnapshotMarkdown(s))}</pre></body></html>`;
}
