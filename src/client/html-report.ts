/**
 * A self-contained HTML page with inline SVG charts of a forecast cycle: what a person would
 * rather see than read (the demo writes it next to its data).
 */

export interface CycleReportData {
  title: string;
  /** Per-SKU MAPE (%) of the run's backtest, with the model used. */
  skuMape: { sku: string; model: string; mape: number }[];
  outlierThreshold: number;
  /** Forecast batches in order: how long each took. */
  batches: { index: number; durationMs: number; skus: number }[];
  batchDelayMs: number;
  hitRates: { label: string; rate: number | null }[];
  gates: { environment: string; gate: string; status: string; detail: string }[];
  /** More charts, already rendered (<figure> elements), e.g. the shadow A/B. */
  figures?: string[];
}

export const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

interface Bar {
  label: string;
  value: number;
  color?: string;
  title?: string;
}

/** A vertical bar chart with a labelled y axis and an optional reference line. */
export function barChart(bars: Bar[], opts: { width?: number; height?: number; yLabel: string; refLine?: { value: number; label: string } }): string {
  const width = opts.width ?? 720;
  const height = opts.height ?? 260;
  const pad = { left: 56, right: 12, top: 16, bottom: 40 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const max = Math.max(1e-9, ...bars.map((b) => b.value), opts.refLine?.value ?? 0) * 1.1;
  const y = (v: number) => pad.top + plotH - (v / max) * plotH;
  const bw = plotW / Math.max(1, bars.length);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  const labelEvery = Math.max(1, Math.ceil(bars.length / 12));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    ...ticks.map(
      (t) =>
        `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/>` +
        `<text x="${pad.left - 6}" y="${y(t) + 4}" text-anchor="end">${+t.toPrecision(3)}</text>`,
    ),
    `<text x="12" y="${pad.top + plotH / 2}" transform="rotate(-90 12 ${pad.top + plotH / 2})" text-anchor="middle">${esc(opts.yLabel)}</text>`,
    ...bars.map((b, i) => {
      const x = pad.left + i * bw;
      const label = i % labelEvery === 0 ? `<text x="${x + bw / 2}" y="${height - pad.bottom + 14}" text-anchor="middle">${esc(b.label)}</text>` : '';
      return (
        `<rect x="${x + bw * 0.1}" y="${y(b.value)}" width="${bw * 0.8}" height="${Math.max(0, pad.top + plotH - y(b.value))}" fill="${b.color ?? '#4a7fb5'}">` +
        `<title>${esc(b.title ?? `${b.label}: ${b.value}`)}</title></rect>${label}`
      );
    }),
  ];
  if (opts.refLine) {
    const ry = y(opts.refLine.value);
    parts.push(
      `<line x1="${pad.left}" x2="${width - pad.right}" y1="${ry}" y2="${ry}" stroke="#c0392b" stroke-dasharray="4 3"/>`,
      `<text x="${width - pad.right}" y="${ry - 4}" text-anchor="end" fill="#c0392b">${esc(opts.refLine.label)}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

/** Per-SKU MAPE histogram in 5-point bins (the last bin holds everything at or above 100%). */
export function mapeHistogram(values: number[], threshold: number): Bar[] {
  const bins = Array.from({ length: 21 }, (_, i) => ({ from: i * 5, count: 0 }));
  for (const v of values) bins[Math.min(20, Math.floor(v / 5))].count++;
  return bins.map((b) => ({
    label: b.from === 100 ? '100+' : String(b.from),
    value: b.count,
    color: b.from >= threshold ? '#c0392b' : '#4a7fb5',
    title: `MAPE ${b.from === 100 ? '>= 100' : `${b.from}-${b.from + 5}`}%: ${b.count} SKUs`,
  }));
}

export function renderCycleReport(d: CycleReportData): string {
  const byModel = new Map<string, number[]>();
  for (const s of d.skuMape) byModel.set(s.model, [...(byModel.get(s.model) ?? []), s.mape]);
  const modelBars: Bar[] = [...byModel].map(([model, v]) => ({
    label: `${model} (${v.length})`,
    value: v.reduce((a, b) => a + b, 0) / v.length,
    title: `${model}: mean MAPE over ${v.length} SKUs`,
  }));
  const statusColor: Record<string, string> = { pass: '#2e7d32', fail: '#c0392b', inconclusive: '#b8860b' };
  const section = (title: string, body: string) => `<h2>${esc(title)}</h2>${body}`;
  return [
    '<!doctype html><html><head><meta charset="utf-8">',
    `<title>${esc(d.title)}</title>`,
    '<style>body{font-family:sans-serif;max-width:780px;margin:24px auto;color:#222}td,th{padding:3px 8px;text-align:left;border-bottom:1px solid #eee}</style>',
    `</head><body><h1>${esc(d.title)}</h1>`,
    section(
      `Per-SKU accuracy: MAPE over non-zero days (${d.skuMape.length} SKUs; red = outliers above ${d.outlierThreshold}%)`,
      barChart(mapeHistogram(d.skuMape.map((s) => s.mape), d.outlierThreshold), { yLabel: 'SKUs', refLine: undefined }),
    ),
    section('Mean MAPE by model', barChart(modelBars, { yLabel: 'MAPE %', height: 220, refLine: { value: d.outlierThreshold, label: `outlier threshold ${d.outlierThreshold}%` } })),
    section(
      `Forecast batches (durable delay of ${d.batchDelayMs} ms between them)`,
      barChart(
        d.batches.map((b) => ({ label: `#${b.index + 1}`, value: b.durationMs, title: `batch ${b.index + 1}: ${b.skus} SKUs in ${Math.round(b.durationMs)} ms` })),
        { yLabel: 'ms', height: 220 },
      ),
    ),
    section(
      'Cache miss rate (1 - hit rate)',
      barChart(
        d.hitRates
          .filter((h) => h.rate !== null)
          .map((h) => ({ label: h.label, value: (1 - (h.rate as number)) * 100, title: `${h.label}: hit rate ${((h.rate as number) * 100).toFixed(2)}%` })),
        { yLabel: 'misses %', height: 200, refLine: { value: 0.3, label: 'plan target: 99.7% hits' } },
      ),
    ),
    section(
      'Rollout gates',
      d.gates.length
        ? `<table><tr><th>environment</th><th>gate</th><th>status</th><th>detail</th></tr>${d.gates
            .map((g) => `<tr><td>${esc(g.environment)}</td><td>${esc(g.gate)}</td><td style="color:${statusColor[g.status] ?? '#222'}">${esc(g.status)}</td><td>${esc(g.detail)}</td></tr>`)
            .join('')}</table>`
        : '<p>no rollout in this cycle</p>',
    ),
    ...(d.figures?.length ? [section('Shadow A/B of the P3 rehearsal', d.figures.join('\n'))] : []),
    '</body></html>',
  ].join('\n');
}
