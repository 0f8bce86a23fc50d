import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startApiServer } from '../../src/api/server';
import { createMemoryCache } from '../../src/cache';
import { STABILITY_POLICY } from '../../src/ops/stability';
import { recordHistory, startStack, type Stack } from './forecast-run.helpers';
import { dayAgo, writeOpsHistory, type OpsHistory } from './ops.helpers';

/**
 * The operations view on a constructed history: `neuro stability` scores it, the dailySnapshot
 * workflow stores the day, `neuro report daily` prints it, and the ops report (GET /report and
 * `neuro report`) loads in headless Chromium with no console errors and data in every chart.
 */

const NEURO = join(__dirname, '..', '..', 'bin', 'neuro.js');
const CHROMIUM = process.env.CHROMIUM_PATH || ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

let stack: Stack;
let history: OpsHistory;
let dir: string;
const neuro = (args: string[]) =>
  promisify(execFile)(process.execPath, [NEURO, ...args], { env: { ...process.env, DATABASE_URL: stack.db.url }, maxBuffer: 16 << 20 });

beforeAll(async () => {
  stack = await startStack({ skus: 5, days: 30 });
  history = await writeOpsHistory(stack.db.pool);
  dir = mkdtempSync(join(tmpdir(), 'neuro-ops-'));
});
afterAll(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('`neuro stability --env production --json` scores the recorded week: every component, the incidents', async () => {
  const { stdout } = await neuro(['stability', '--env', 'production', '--window', '7d', '--json']);
  const r = JSON.parse(stdout);
  expect(r.window.label).toBe('7d');
  const c = Object.fromEntries(r.components.map((x: { name: string }) => [x.name, x]));
  const ended = history.runs.completed + history.runs.failed;
  expect(c['forecast-runs']).toMatchObject({ good: history.runs.completed, total: ended });
  expect(c['api-latency']).toMatchObject({ good: history.queries.withinSlo, total: history.queries.total });
  expect(c['cache-hit-rate']).toMatchObject({ good: history.cache.hits, total: history.cache.hits + history.cache.misses });
  expect(c.gates).toMatchObject({ good: history.gates.evaluations - history.gates.failed, total: history.gates.evaluations });
  expect(r.incidents.map((i: { kind: string }) => i.kind).sort()).toEqual(['automatic-rollback', 'failed-run']);

  const hitRate = (100 * history.cache.hits) / (history.cache.hits + history.cache.misses);
  const w = STABILITY_POLICY.weights;
  const expected =
    w['forecast-runs'] * ((100 * history.runs.completed) / ended) +
    w['api-latency'] * ((100 * history.queries.withinSlo) / history.queries.total) +
    w['cache-hit-rate'] * Math.min(100, (100 * hitRate) / STABILITY_POLICY.cacheHitTargetPct) +
    w.gates * ((100 * (history.gates.evaluations - history.gates.failed)) / history.gates.evaluations) -
    2 * STABILITY_POLICY.incidentPenalty;
  expect(r.score).toBeCloseTo(expected, 1);
  expect(r.grade).toBe('F');

  // staging saw only the rollback (it restored staging too): one incident, no other data
  const staging = JSON.parse((await neuro(['stability', '--env', 'staging', '--json'])).stdout);
  expect(staging).toMatchObject({ score: null, grade: 'n/a' });
  expect(staging.incidents).toHaveLength(1);

  const text = (await neuro(['stability', '--env', 'production'])).stdout;
  expect(text).toMatch(/grade F/);
  expect(text).toMatch(/automatic-rollback\s+release v19.3-test-rollout rolled back automatically/);
  const bad = await neuro(['stability', '--window', 'a week']).catch((e) => e as { code: number; stderr: string });
  expect(bad).toMatchObject({ code: 1, stderr: expect.stringMatching(/--window: "a week" is not a duration/) });
});

test('dailySnapshot writes each environment\'s day to PostgreSQL; `neuro report daily` prints it', async () => {
  const day = dayAgo(1);
  const handle = await stack.temporal.client.workflow.start('dailySnapshot', {
    args: [{ day }],
    taskQueue: stack.temporal.taskQueue,
    workflowId: `daily-snapshot-test-${day}-${Date.now()}`,
  });
  const result = await handle.result();
  expect(result.map((r: { environment: string }) => r.environment)).toEqual(['staging', 'production']);
  const production = result[1];
  expect(production).toMatchObject({ day, runs: 1, incidents: 1, releasesInFlight: 0 });

  const row = (await stack.db.pool.query("SELECT data, markdown FROM daily_snapshots WHERE environment = 'production' AND day = $1", [day])).rows[0];
  expect(row.data.runs).toEqual([expect.objectContaining({ id: `run-${day}`, status: 'completed', gc: { count: 40, totalMs: 35.5, maxMs: 6 } })]);
  expect(row.data.peaks.map((p: { label: string; hits: number; misses: number }) => [p.label, p.hits, p.misses])).toEqual([
    ['morning', 995, 5],
    ['afternoon', 990, 10],
  ]);
  expect(row.data.prefetches).toHaveLength(1);
  expect(row.markdown).toMatch(/\| peak memory \| 2\.6% \(620 MiB RSS\) \(plan < 62%\) \|/);
  expect(row.markdown).toMatch(/automatic-rollback: release v19.3-test-rollout/);
  await recordHistory('daily-snapshot', handle);

  const { stdout } = await neuro(['report', 'daily', '--env', 'production', '--date', day]);
  expect(stdout).toBe(`${row.markdown}\n`);
  const missing = await neuro(['report', 'daily', '--env', 'staging', '--date', dayAgo(30)]).catch((e) => e as { code: number; stderr: string });
  expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/no daily snapshot for staging on/) });
  const bad = await neuro(['report', 'daily', '--date', '2026-02-30']).catch((e) => e as { code: number; stderr: string });
  expect(bad).toMatchObject({ code: 1, stderr: expect.stringMatching(/day: "2026-02-30" refused/) });
});

test('`neuro report` writes the ops report next to the release files', async () => {
  const { stdout } = await neuro(['report', '--env', 'production', '--days', '4', '--out', dir]);
  expect(stdout).toMatch(/wrote .*OPS_REPORT_production\.html/);
  expect(stdout).toMatch(/no release records yet/);
  const html = readFileSync(join(dir, 'OPS_REPORT_production.html'), 'utf8');
  expect(html).toMatch(/Rollout v19\.3-test-rollout \(v19\.3-batch-delay\): rolled-back/);
});

test('GET /report: the same page from the API; bad parameters are named', async () => {
  const api = await startApiServer({ pool: stack.db.pool, cache: createMemoryCache(), taskQueue: stack.temporal.taskQueue, port: 0, log: () => undefined });
  try {
    const res = await fetch(`${api.url}/report?env=production&days=4`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html.match(/<figure class="chart" data-points="[1-9]/g)).toHaveLength(8);
    const bad = await fetch(`${api.url}/report?days=91`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('days must be a whole number from 1 to 90, got "91"');
    expect((await fetch(`${api.url}/report?env=qa`)).status).toBe(400);
  } finally {
    await api.close();
  }
});

(CHROMIUM ? describe : describe.skip)(`ops report in headless Chromium${CHROMIUM ? '' : ' (SKIPPED: no chromium; apt-get install chromium, or set CHROMIUM_PATH)'}`, () => {
  test('GET /report loads with no console errors, and every chart has data', async () => {
    const { chromium } = await import('playwright-core');
    const api = await startApiServer({ pool: stack.db.pool, cache: createMemoryCache(), taskQueue: stack.temporal.taskQueue, port: 0, log: () => undefined });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      const res = await page.goto(`${api.url}/report?env=production&days=4`);
      expect(res?.status()).toBe(200);
      expect(res?.headers()['content-type']).toMatch(/text\/html/);
      const charts = await page.$$eval('figure.chart', (figs) =>
        figs.map((f) => ({
          title: f.querySelector('figcaption')?.textContent ?? '',
          points: Number(f.getAttribute('data-points')),
          marks: f.querySelectorAll('svg rect, svg circle.mark, svg line.mark').length,
          width: f.querySelector('svg')?.getBoundingClientRect().width ?? 0,
        })),
      );
      expect(charts.map((c) => c.title)).toEqual([
        'Forecast run duration per day (longest completed run)',
        'Peak memory per day',
        'MAPE per day (mean over completed runs)',
        'Outlier SKUs per day',
        'Cache miss rate per day (100 - hit rate)',
        'Peak-hour misses per window (blue morning, purple afternoon)',
        'Stability score per day: points below 100 (A+ needs < 0.5)',
        'Rollout v19.3-test-rollout (v19.3-batch-delay): rolled-back, stage done',
      ]);
      for (const c of charts) {
        expect({ title: c.title, hasData: c.points > 0 && c.marks >= c.points && c.width > 0 }).toEqual({ title: c.title, hasData: true });
      }
      // the 3 recorded days, the 2 peak windows of each, the rollout's 4 gate checks and 3 decisions
      expect(charts[0].points).toBe(history.days.length);
      expect(charts[5].points).toBe(2 * history.days.length);
      expect(charts[7].points).toBe(history.gates.evaluations + 3);
      expect(errors).toEqual([]);
      const bad = await page.goto(`${api.url}/report?days=0`);
      expect(bad?.status()).toBe(400);
    } finally {
      await browser.close();
      await api.close();
    }
  });
});
