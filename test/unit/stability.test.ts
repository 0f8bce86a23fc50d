import { grade, incidents, stabilityScore, STABILITY_POLICY, type StabilityInputs } from '../../src/ops/stability';

/** Constructed histories: every component, incidents of each kind, the grade boundaries. */

const window = { from: '2026-11-24T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z', label: '7d' };
const run = (id: string, status: string, durationMs: number | null, at = '2026-11-25T02:01:00.000Z') => ({ id, status, durationMs, at });
const day = (d: string, good: number, total: number) => ({ day: d, good, total });

/** A clean week: 7 on-time runs, fast API, hit rate above the target, gates passing. */
const clean = (): StabilityInputs => ({
  environment: 'production',
  window,
  runs: Array.from({ length: 7 }, (_, i) => run(`r${i}`, 'completed', 8_000)),
  apiDays: [day('2026-11-25', 10_000, 10_000), day('2026-11-26', 9_990, 10_000)],
  cacheDays: [day('2026-11-25', 9_980, 10_000), day('2026-11-26', 9_970, 10_000)],
  gates: { evaluations: 8, failed: 0 },
  rollbacks: [],
});

test('a clean week is A+, each component measured from its own events', () => {
  const r = stabilityScore(clean());
  const byName = Object.fromEntries(r.components.map((c) => [c.name, c]));
  expect(byName['forecast-runs']).toMatchObject({ value: 100, good: 7, total: 7 });
  expect(byName['api-latency']).toMatchObject({ good: 19_990, total: 20_000 });
  expect(byName['api-latency'].value).toBeCloseTo(99.95, 6);
  // hit rate 99.75% against the 99.5% target: capped at 100
  expect(byName['cache-hit-rate'].value).toBe(100);
  expect(byName.gates).toMatchObject({ value: 100, good: 8, total: 8 });
  expect(r.incidents).toEqual([]);
  // 0.4*100 + 0.2*99.95 + 0.2*100 + 0.2*100 = 99.99
  expect(r.score).toBeCloseTo(99.99, 2);
  expect(r.grade).toBe('A+');
});

test('a hit rate under the target lowers its component in proportion', () => {
  const i = clean();
  i.cacheDays = [day('2026-11-25', 9_930, 10_000)]; // 99.3%: the v19.2 baseline
  const c = stabilityScore(i).components.find((x) => x.name === 'cache-hit-rate')!;
  expect(c.value).toBeCloseTo((100 * 99.3) / 99.5, 6);
});

test('one failed run is an incident: the score loses its share and a point, the grade drops from A+', () => {
  const i = clean();
  i.runs[3] = { ...run('r3', 'failed', null), error: 'batch 2 failed' };
  const r = stabilityScore(i);
  expect(r.incidents).toEqual([expect.objectContaining({ kind: 'failed-run', what: 'forecast run r3 failed: batch 2 failed' })]);
  expect(r.penalty).toBe(1);
  const runs = (100 * 6) / 7;
  expect(r.score).toBeCloseTo(0.4 * runs + 0.2 * 99.95 + 0.2 * 100 + 0.2 * 100 - 1, 2);
  expect(r.grade).not.toBe('A+');
  expect(stabilityScore(clean()).score! - r.score!).toBeGreaterThan(1);
});

test('an automatic rollback and a failed gate: the gates component and an incident', () => {
  const i = clean();
  i.gates = { evaluations: 8, failed: 1 };
  i.rollbacks = [{ release: 'v19.3-batch-delay', reason: 'gate peak-memory failed', at: '2026-11-27T10:00:00.000Z' }];
  const r = stabilityScore(i);
  expect(r.components.find((c) => c.name === 'gates')!.value).toBeCloseTo(87.5, 6);
  expect(r.incidents.map((x) => x.kind)).toEqual(['automatic-rollback']);
  expect(r.grade).toBe('C'); // 0.4*100 + 0.2*99.95 + 0.2*100 + 0.2*87.5 - 1 = 96.49
});

test('SLO breaches: a late run, a slow API day, a day under the hit floor; quiet days never breach', () => {
  const i = clean();
  i.runs[0] = run('r0', 'completed', STABILITY_POLICY.forecastOnTimeMs + 1);
  i.apiDays.push(day('2026-11-27', 9_800, 10_000), day('2026-11-28', 10, 50));
  i.cacheDays.push(day('2026-11-27', 9_850, 10_000), day('2026-11-28', 10, 50));
  const found = incidents(i);
  expect(found.map((x) => x.kind)).toEqual(['slo-breach', 'slo-breach', 'slo-breach']);
  expect(found[0].what).toMatch(/r0 took 120.00 s \(SLO 120 s\)/);
  expect(found[1].what).toMatch(/^API latency 2026-11-27: 98% of 10000 queries/);
  expect(found[2].what).toMatch(/^cache hit rate 2026-11-27: 98.50%/);
  // the late run is not good either
  expect(stabilityScore(i).components[0]).toMatchObject({ good: 6, total: 7 });
});

test('components without data are left out; no data at all is no score', () => {
  const i = clean();
  i.apiDays = [];
  i.cacheDays = [];
  i.gates = { evaluations: 0, failed: 0 };
  const r = stabilityScore(i);
  expect(r.components.filter((c) => c.value === null).map((c) => c.name)).toEqual(['api-latency', 'cache-hit-rate', 'gates']);
  expect(r.score).toBe(100);
  i.runs = [];
  expect(stabilityScore(i)).toMatchObject({ score: null, grade: 'n/a' });
});

test('grades', () => {
  expect([100, 99.5, 99.49, 99, 97, 95, 90, 89.99].map(grade)).toEqual(['A+', 'A+', 'A', 'A', 'B', 'C', 'D', 'F']);
  expect(grade(null)).toBe('n/a');
});
