import { chooseClassModels, classModelLabel, classWindows, growCombination, pickNested, pickWithGuard } from '../../../src/forecasting/select';
import { combineForecasts, createModel } from '../../../src/forecasting/models';
import { selectModel } from '../../../src/forecasting/select';
import type { SeriesInput } from '../../../src/forecasting/types';

const s = (y: number[]): SeriesInput => ({ id: 'SKU-1', start: '2024-01-01', freqDays: 1, y: Float64Array.from(y) });
const repeat = (xs: number[], times: number) => Array.from({ length: times }, () => xs).flat();

const smooth = s(repeat([10, 11, 9, 12, 10, 8, 11], 8));
const sparse = s(repeat([0, 0, 3, 0, 0, 0, 4], 8)); // zero ratio 5/7
const spiky = s(repeat([1, 1, 1, 1, 1, 1, 40], 8)); // no zeros, whole-series CV² ≈ 4.6
const lumpy = s(repeat([0, 0, 1, 0, 0, 0, 40], 8));

describe('plan policy (whole history)', () => {
  test('zero ratio > 0.5 -> CrostonClassic with CROSTON_ALPHA', () => {
    const r = selectModel(sparse, { policy: 'plan', crostonAlpha: 0.2 });
    expect(r.model).toBe('CrostonClassic');
    expect(r.params.alpha).toBe(0.2);
  });
  test('CV² > 0.49 -> TSB with TSB_ALPHA / TSB_BETA', () => {
    const r = selectModel(spiky, { policy: 'plan', tsbAlpha: 0.3, tsbBeta: 0.05 });
    expect(r.model).toBe('TSB');
    expect(r.params).toMatchObject({ alphaD: 0.3, alphaP: 0.05 });
  });
  test('otherwise Prophet', () => expect(selectModel(smooth, { policy: 'plan' }).model).toBe('Prophet'));
  test('thresholds come from the options', () => {
    expect(selectModel(sparse, { policy: 'plan', zeroRatioThreshold: 0.8, cvSquaredThreshold: 0.1 }).model).toBe('TSB');
    expect(selectModel(spiky, { policy: 'plan', cvSquaredThreshold: 5 }).model).toBe('Prophet');
  });
  test('hybrid disabled -> Prophet for every SKU', () => {
    for (const x of [smooth, sparse, spiky, lumpy]) expect(selectModel(x, { policy: 'plan', hybridEnabled: false }).model).toBe('Prophet');
  });
});

describe('sbc policy', () => {
  test('smooth -> Prophet, or SESOptimized when short', () => {
    expect(selectModel(smooth, { policy: 'sbc' })).toMatchObject({ model: 'Prophet', demandClass: 'smooth' });
    expect(selectModel(s([10, 11, 9, 10]), { policy: 'sbc' }).model).toBe('SESOptimized');
  });
  test('erratic -> TSB', () => expect(selectModel(spiky, { policy: 'sbc' })).toMatchObject({ model: 'TSB', demandClass: 'erratic' }));
  test('intermittent -> CrostonSBA', () => expect(selectModel(sparse, { policy: 'sbc' })).toMatchObject({ model: 'CrostonSBA', demandClass: 'intermittent' }));
  test('lumpy -> TSB', () => expect(selectModel(lumpy, { policy: 'sbc' })).toMatchObject({ model: 'TSB', demandClass: 'lumpy' }));
});

describe('backtest-best policy', () => {
  test('picks the candidate with the lowest holdout error', () => {
    // a strict weekly pattern: SeasonalNaive is exact on the holdout, SES is not
    const weekly = s(repeat([1, 2, 3, 4, 5, 6, 7], 10));
    const r = selectModel(weekly, { policy: 'backtest-best', candidates: ['SESOptimized', 'SeasonalNaive', 'Naive'] }, { horizon: 7 });
    expect(r.model).toBe('SeasonalNaive');
    expect(r.reason).toMatch(/holdout MAE 0 /);
  });
  test('falls back to sbc when too short to validate', () => {
    const r = selectModel(s([0, 3, 0, 0, 2, 0]), { policy: 'backtest-best' }, { horizon: 7 });
    expect(r.model).toBe('CrostonSBA');
    expect(r.reason).toMatch(/too short/);
  });
});

describe('class-best', () => {
  const cyc = (id: string, n: number, size: number) => ({ id, start: '2024-01-01', freqDays: 1, y: Float64Array.from({ length: n }, (_, t) => (t % 7 === 3 ? size : 0)) });
  test('a clearly better model replaces the class default; too few pairs keep it', () => {
    // demand every 7th day in one size: intermittent, and SeasonalNaive is exact
    const cat = [cyc('A', 120, 5), cyc('B', 100, 3), cyc('C', 90, 8)];
    const t = chooseClassModels(cat, { horizon: 7, windows: 3, candidates: ['Ensemble', 'SeasonalNaive', 'CrostonSBA'] });
    expect(t.intermittent).toMatchObject({ default: 'Ensemble', chosen: 'SeasonalNaive', pairs: 9, chosenRmsse: 0 });
    expect(t.smooth).toMatchObject({ default: 'Prophet', chosen: 'Prophet', pairs: 0 });
    const one = chooseClassModels([cyc('A', 120, 5)], { horizon: 7, windows: 2, candidates: ['Ensemble', 'SeasonalNaive'] });
    expect(one.intermittent.chosen).toBe('Ensemble'); // 2 pairs: within noise by rule
  });
  test('the policy reads the table, class defaults otherwise', () => {
    const s = cyc('A', 120, 5);
    expect(selectModel(s, { policy: 'class-best' }).model).toBe('Ensemble');
    expect(selectModel(s, { policy: 'class-best', classModels: { intermittent: 'TSB' } }).model).toBe('TSB');
    const smooth = { id: 'S', start: '2024-01-01', freqDays: 1, y: Float64Array.from({ length: 60 }, (_, t) => 10 + (t % 3)) };
    expect(selectModel(smooth, { policy: 'class-best' }).model).toBe('Prophet');
  });
});

describe('class-best: the guard and the combinations', () => {
  test('pickWithGuard: the largest margin above twice its standard error wins; noise, a tie or < 3 pairs keep the default', () => {
    const dflt = [1, 1, 1, 1, 1, 1];
    // B: consistently 0.2 better; C: 0.5 better on average but one pair far worse (noise); D: equal
    const B = [0.8, 0.81, 0.79, 0.8, 0.8, 0.8];
    const C = [0, 0, 0, 0, 0, 4];
    const D = [1, 1, 1, 1, 1, 1];
    const r = pickWithGuard('Prophet', ['Prophet', 'B' as never, 'C' as never, 'D' as never], [dflt, B, C, D]);
    expect(r).toMatchObject({ default: 'Prophet', chosen: 'B', pairs: 6, defaultRmsse: 1 });
    expect(r.chosenRmsse).toBeCloseTo(0.8, 12);
    // a consistent but smaller margin loses to a consistent larger one
    const E = [0.5, 0.52, 0.48, 0.5, 0.5, 0.5];
    expect(pickWithGuard('Prophet', ['Prophet', 'B' as never, 'E' as never], [dflt, B, E]).chosen).toBe('E');
    expect(pickWithGuard('Prophet', ['Prophet', 'C' as never, 'D' as never], [dflt, C, D]).chosen).toBe('Prophet');
    expect(pickWithGuard('Prophet', ['Prophet', 'B' as never], [[1, 1], [0.5, 0.5]]).chosen).toBe('Prophet');
    // a default without scores (no SKU of the class) is kept
    expect(pickWithGuard('Prophet', ['Prophet'], [[]])).toMatchObject({ chosen: 'Prophet', pairs: 0 });
  });
  test('pickNested: picked on the earlier pairs, kept only if it also wins on the later ones by more than a standard error', () => {
    const dflt = [1, 1, 1, 1, 1, 1, 1, 1];
    const early = [0, 1, 2, 3], late = [4, 5, 6, 7];
    // B wins on the earlier half and loses on the later one: the default stays
    const B = [0.5, 0.5, 0.5, 0.5, 1.2, 1.2, 1.2, 1.2];
    expect(pickNested('Prophet', ['Prophet', 'B' as never], [dflt, B], early, late)).toMatchObject({ chosen: 'Prophet', pairs: 8, chosenRmsse: 1 });
    // C wins on both (and is the earlier half's pick): chosen, with its figures over all 8 pairs
    const C = [0.45, 0.45, 0.45, 0.45, 0.9, 0.9, 0.9, 0.9];
    const r = pickNested('Prophet', ['Prophet', 'B' as never, 'C' as never], [dflt, B, C], early, late);
    expect(r).toMatchObject({ chosen: 'C', pairs: 8, defaultRmsse: 1 });
    expect(r.chosenRmsse).toBeCloseTo(0.675, 12);
    // paired margins 0.55 x 4 and 0.1 x 4: mean 0.325, each 0.225 away from it
    expect(r.se).toBeCloseTo(Math.sqrt((8 * 0.225 ** 2) / 7 / 8), 12);
    // D wins clearly on the earlier half but on the later one only within noise (margins 0.3, -0.2,
    // 0.25, -0.25: mean 0.025, standard error 0.14): the default stays
    const D = [0.4, 0.4, 0.4, 0.4, 0.7, 1.2, 0.75, 1.25];
    expect(pickNested('Prophet', ['Prophet', 'D' as never], [dflt, D], early, late).chosen).toBe('Prophet');
    // the same earlier half with a later margin of 0.3 ± 0.02: confirmed
    const E = [0.4, 0.4, 0.4, 0.4, 0.68, 0.72, 0.7, 0.7];
    expect(pickNested('Prophet', ['Prophet', 'E' as never], [dflt, E], early, late).chosen).toBe('E');
  });
  test('growCombination: adds the candidate that lowers the score most, while one does', () => {
    // the score: distance of the median of the members' values from 7
    const values = [10, 4, 8, 30, 6.5];
    const median = (xs: number[]) => { const v = [...xs].sort((a, b) => a - b), m = v.length >> 1; return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2; };
    const score = (ks: readonly number[]) => Math.abs(median(ks.map((k) => values[k])) - 7);
    // from [10] (3 away): +4 -> median 7 (0) beats +8 (2), +30 (13) and +6.5 (1.25), whatever the pool's order;
    // then from [10, 4]: +8 -> 8, +30 -> 10, +6.5 -> 6.5: none reaches 0, so it stops
    expect(growCombination([0], [3, 2, 4, 1], score)).toEqual([0, 1]);
    // two steps: from [30] (23 away) +4 -> 17 is best; then [30, 4] +6.5 -> 6.5 (0.5) is best; then nothing helps
    expect(growCombination([3], [1, 4], score)).toEqual([3, 1, 4]);
    // a start nothing improves, or an empty pool: undefined (the default stays as it is)
    expect(growCombination([1, 0], [2, 3], (ks) => (ks.length === 2 ? 0 : 1))).toBeUndefined();
    expect(growCombination([0], [], score)).toBeUndefined();
  });
  test('a class with few SKUs is judged on more windows, up to 12', () => {
    expect([classWindows(1), classWindows(3), classWindows(10), classWindows(500)]).toEqual([12, 10, 3, 3]);
  });
  test('the mean of the class best models is chosen when it beats every single one clearly', () => {
    // demand in blocks of 3 days alternating 10 / 20: no single model follows it, their mean errs least
    const alt = (id: string, n: number) => ({ id, start: '2024-01-01', freqDays: 1, y: Float64Array.from({ length: n }, (_, t) => (Math.floor(t / 3) % 2 ? 20 : 10)) });
    const cat = [alt('A', 84), alt('B', 90), alt('C', 100)];
    const candidates = ['Prophet', 'Naive', 'SeasonalNaive', 'SESOptimized'] as const;
    const t = chooseClassModels(cat, { horizon: 7, candidates });
    const chosen = t.smooth.chosen;
    expect(typeof chosen).toBe('object');
    expect(classModelLabel(chosen)).toMatch(/^mean\(/);
    expect(t.smooth.chosenRmsse).toBeLessThan(t.smooth.defaultRmsse - 2 * t.smooth.se);
    // the chosen combination is better than the best single model chosen without combinations
    const singles = chooseClassModels(cat, { horizon: 7, candidates, combinationSizes: [] }).smooth;
    expect(typeof singles.chosen).toBe('string');
    expect(t.smooth.chosenRmsse).toBeLessThan(singles.chosenRmsse);
    // and the policy forecasts it as an Ensemble of those members, by their mean
    const sel = selectModel(cat[0], { policy: 'class-best', classModels: { smooth: chosen } });
    expect(sel.model).toBe('Ensemble');
    expect(sel.params).toMatchObject({ members: (chosen as { members: readonly string[] }).members, combine: 'mean' });
    expect(sel.reason).toContain('chosen for the class by backtest');
    // a combination with Prophet on a history too short for Prophet: SESOptimized, as for Prophet alone
    const short = { id: 'N', start: '2024-01-01', freqDays: 1, y: Float64Array.of(4, 5, 4) };
    expect(selectModel(short, { policy: 'class-best', classModels: { smooth: { members: ['SeasonalNaive', 'Prophet'], combine: 'mean' } } }).model).toBe('SESOptimized');
    // so is Theta (it needs 4 points), alone or in a combination
    expect(selectModel(short, { policy: 'class-best', classModels: { smooth: 'Theta' } }).model).toBe('SESOptimized');
    expect(selectModel(short, { policy: 'class-best', classModels: { smooth: { members: ['Theta', 'SES'], combine: 'mean' } } }).reason).toMatch(/too short for mean\(Theta\+SES\)/);
  });
});

describe('Ensemble', () => {
  test('is the per-period median of its members, negatives cut to 0', () => {
    const s = { id: 'E', start: '2024-01-01', freqDays: 1, y: Float64Array.from({ length: 50 }, (_, t) => (t * 7) % 5) };
    const members = ['Naive', 'SESOptimized', 'CrostonSBA', 'IMAPA'] as const;
    const f = createModel('Ensemble', { members }).fit(s).forecast(3);
    const each = members.map((m) => createModel(m).fit(s).forecast(3));
    for (let i = 0; i < 3; i++) {
      const v = each.map((x) => x[i]).sort((a, b) => a - b);
      expect(f[i]).toBeCloseTo((v[1] + v[2]) / 2, 12);
    }
    expect(combineForecasts([Float64Array.of(-2, NaN), Float64Array.of(4, 6)], 2, 'mean')).toEqual(Float64Array.of(2, 6));
  });
  test('refuses itself as a member', () => {
    expect(() => createModel('Ensemble', { members: ['Ensemble'] })).toThrow(/Ensemble members must be other models/);
  });
});
