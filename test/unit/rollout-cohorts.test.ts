import * as cohorts from '../../src/rollout/cohorts';
import * as rules from '../../src/rollout/decisions';
import { cohortGateData, evaluateGates, type GateData } from '../../src/rollout/gates';
import { planToInput, parseRolloutInput } from '../../src/rollout/input';
import type { CohortsSpec, RolloutInput } from '../../src/rollout/types';

const T = Date.parse('2025-03-01T00:00:00Z');
const P3 = () => planToInput('v19.3-hybrid-ml', { author: 'dana', release: 'p3' });
const spec = (promotion: CohortsSpec['promotion'] = 'manual'): CohortsSpec => ({ ...P3().cohorts!, promotion });
const ranked = [
  { sku: 'A', mape: 90 },
  { sku: 'B', mape: 30 },
  { sku: 'C', mape: 80 },
  { sku: 'D', mape: 10 },
  { sku: 'E', mape: 80 },
  { sku: 'F', mape: 26 },
  { sku: 'G', mape: 40 },
  { sku: 'H', mape: 50 },
];

describe('choosing a step cohort from the reference backtest', () => {
  const [top, flagged, catalogue] = spec().steps;
  it('takes the 5 worst outliers (ties by id), then every outlier, cumulative, then the whole catalogue', () => {
    const step1 = cohorts.selectCohort(top, ranked, 25, []);
    expect(step1).toEqual(['A', 'C', 'E', 'G', 'H']); // 90, 80, 80 (C before E), 50, 40
    expect(cohorts.selectCohort(flagged, ranked, 25, step1 as string[])).toEqual(['A', 'B', 'C', 'E', 'F', 'G', 'H']);
    expect(cohorts.selectCohort(catalogue, ranked, 25, [])).toBe('all');
  });
  it('counts only SKUs over the threshold; fewer outliers than the count give a smaller cohort; none, none', () => {
    expect(cohorts.selectCohort(top, ranked, 60, [])).toEqual(['A', 'C', 'E']);
    expect(cohorts.selectCohort(top, ranked, 90, [])).toEqual([]);
    expect(cohorts.emptyCohortNote(top, 'run-1', 90)).toBe('no SKU over OUTLIER_MAPE_THRESHOLD 90% in backtest run-1: skipped');
    expect(cohorts.emptyCohortNote(top, null, 25)).toMatch(/^no backtest in production/);
  });
});

describe('the cohort steps in the status', () => {
  it('start pending, in plan order; a manual promotion is waited for only after a step that passed', () => {
    const st = rules.initialStatus(P3(), 'rollout-p3');
    expect(st.steps!.map((x) => [x.name, x.state, x.skus])).toEqual([
      ['top-5-outliers', 'pending', []],
      ['flagged-outliers', 'pending', []],
      ['catalogue', 'pending', 'all'],
    ]);
    expect(cohorts.waitsForPromotion(spec(), st, 0)).toBe(false);
    st.steps![0].state = 'skipped';
    expect(cohorts.waitsForPromotion(spec(), st, 1)).toBe(false);
    st.steps![0].state = 'passed';
    expect(cohorts.waitsForPromotion(spec(), st, 1)).toBe(true);
    expect(cohorts.waitsForPromotion(spec('auto'), st, 1)).toBe(false);
    st.steps![0].skus = ['A', 'C'];
    expect(cohorts.earlierSkus(st, 2)).toEqual(['A', 'C']);
  });

  it('promote: refused before a step waits, accepted once, recorded; the author may not', () => {
    const r: rules.RolloutRun = { st: rules.initialStatus(P3(), 'rollout-p3'), goDecided: true };
    const p = { by: 'lee', reason: 'step 1 passed' };
    expect(rules.refusePromote(r, p)).toMatch(/^promote is for a cohort rollout whose step passed .*state now: running/);
    expect(rules.refusePromote(r, { by: 'lee' })).toMatch(/"reason" is required/);
    r.st.state = 'awaiting-promotion';
    r.st.steps![1].state = 'awaiting-promotion';
    expect(rules.refusePromote(r, p)).toBeUndefined();
    expect(rules.promote(r, p, T)).toBe('promoted by lee: starting flagged-outliers of p3');
    expect(rules.refusePromote(r, p)).toBe('already promoted by lee');
    const signer = { ok: true as const, name: 'dana', roles: ['ml-lead'] };
    expect(rules.refuseSigner(r, 'promote', p, signer)).toBe('dana is the author of p3 and may not promote it');
    expect(rules.refuseSigner(r, 'promote', p, { ok: true, name: 'zoe', roles: ['intern'] })).toMatch(/holds none of this rollout's sign-off roles/);
  });

  it('a rollback ends the step in progress as rolled back; passed and pending steps keep their state', () => {
    const st = rules.initialStatus(P3(), 'rollout-p3');
    st.steps![0].state = 'passed';
    st.steps![1].state = 'awaiting-confirmation';
    cohorts.rollBackSteps(st, 'now');
    expect(st.steps!.map((x) => x.state)).toEqual(['passed', 'rolled-back', 'pending']);
    expect(st.steps![1].endedAt).toBe('now');
  });

  it('a missed promotion deadline is the system rollback, naming the step', () => {
    const r: rules.RolloutRun = { st: rules.initialStatus(P3(), 'rollout-p3'), goDecided: true };
    rules.promotionTimedOut(r, 'catalogue', 24 * 3_600_000, T);
    expect(r.abort).toMatchObject({ kind: 'rollback', by: 'system', automatic: true });
    expect(r.abort!.reason).toMatch(/^no promote to catalogue by the deadline .* \(24 h after the previous step passed\)$/);
  });
});

describe('the cohort plan and its input', () => {
  it('P3 shadows the hybrid in staging, keeping staging on what it serves; production gets the whole change set', () => {
    const input = P3();
    expect(input.validation.shadow).toEqual({ challenger: 'plan' });
    expect(rules.changesFor(input, 'staging')).not.toHaveProperty('ENABLE_HYBRID_FORECASTING');
    expect(rules.changesFor(input, 'staging')).toHaveProperty('CROSTON_ALPHA', 0.1);
    expect(rules.changesFor(input, 'production')).toHaveProperty('ENABLE_HYBRID_FORECASTING', true);
    const noShadow = planToInput('v19.3-hybrid-ml', { author: 'dana', shadow: 'none', cohorts: false });
    expect(noShadow.validation.shadow).toBeUndefined();
    expect(noShadow.cohorts).toBeUndefined();
    expect(rules.changesFor(noShadow, 'staging')).toHaveProperty('ENABLE_HYBRID_FORECASTING', true);
    expect(planToInput('v19.3-hybrid-ml', { author: 'dana', promotion: 'auto' }).cohorts!.promotion).toBe('auto');
  });

  it('refuses cohort plans that could not work, naming the problem', () => {
    const bad = (cohortsSpec: unknown) => () => parseRolloutInput({ ...P3(), cohorts: cohortsSpec } as RolloutInput);
    const steps = spec().steps;
    expect(bad({ ...spec(), steps: steps.slice(0, 2) })).toThrow(/the last step, and only it, must be the catalogue step/);
    expect(bad({ ...spec(), steps: [steps[2], ...steps] })).toThrow(/the last step, and only it/);
    expect(bad({ ...spec(), steps: [{ name: 'top', select: 'top-outliers' }, steps[2]] })).toThrow(/top-outliers needs a count/);
    expect(bad({ ...spec(), steps: [steps[1], { ...steps[1] }, steps[2]] })).toThrow(/two steps share a name/);
    expect(bad({ ...spec(), promotion: 'sometimes' })).toThrow(/promotion must be auto or manual/);
    expect(bad({ ...spec(), serves: 'Magic' })).toThrow(/cohorts.serves "Magic" is neither a model nor a policy/);
    expect(bad({ ...spec(), steps: [] })).toThrow(/at least one step/);
  });
});

describe('gates on a cohort', () => {
  const data: GateData = {
    runs: [
      { id: 'r1', durationMs: 1000, peakMemoryPct: 10, mape: 15, outlierSkus: ['X', 'Y', 'Z', 'W'] },
      { id: 'r2', durationMs: 1000, peakMemoryPct: 10, mape: 15, outlierSkus: [] }, // no accuracy step
    ],
    baselineRuns: [],
    prefetches: [],
    cache: { hits: 0, misses: 0 },
    peakCache: { hits: 0, misses: 0 },
    outlierAccuracy: [],
  };
  it('counts the cohort outliers and averages the cohort MAPE over the runs that scored it', () => {
    const rows = [
      { runId: 'r1', skuId: 'A', mape: 40 },
      { runId: 'r1', skuId: 'B', mape: 20 },
      { runId: 'r1', skuId: 'C', mape: null },
    ];
    const d = cohortGateData(data, rows, 25);
    expect(d.runs.map((r) => [r.id, r.mape, r.outlierSkus])).toEqual([['r1', 30, ['A']]]);
    const results = evaluateGates(
      [
        { gate: 'outlier-count', comparator: '<=', threshold: 0 },
        { gate: 'outlier-mape', comparator: '<', threshold: 24 },
      ],
      d,
      'production',
      { start: 'a', end: 'b' },
    );
    expect(results.map((g) => [g.gate, g.status, g.measured])).toEqual([
      ['outlier-count', 'fail', 1],
      ['outlier-mape', 'fail', 30],
    ]);
  });
  it('without accuracy rows for the cohort the gates are inconclusive, not a pass', () => {
    const results = evaluateGates([{ gate: 'outlier-count', comparator: '<=', threshold: 3 }], cohortGateData(data, [], 25), 'production', { start: 'a', end: 'b' });
    expect(results[0].status).toBe('inconclusive');
  });
});
