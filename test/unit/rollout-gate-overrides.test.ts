import { evaluateGate } from '../../src/rollout/gates';
import { applyGateOverrides, parseGateFlag, parseRolloutInput, planToInput, RolloutInputError } from '../../src/rollout/input';
import { getPlan } from '../../src/rollout/plans';

/** `--gate 'NAME<OP>VALUE'`: parsed and validated like a plan's gate, applied to the plan's gates, recorded. */

describe('--gate flags', () => {
  it('parses NAME<OP>VALUE with each operator, spaces allowed', () => {
    expect(parseGateFlag('outlier-count<=10', 'ann')).toEqual({ gate: 'outlier-count', comparator: '<=', threshold: 10, by: 'ann' });
    expect(parseGateFlag('mape<25', 'ann')).toMatchObject({ comparator: '<', threshold: 25 });
    expect(parseGateFlag(' cache-hit-rate >= 98.5 ', 'ann')).toMatchObject({ gate: 'cache-hit-rate', comparator: '>=', threshold: 98.5 });
    expect(parseGateFlag('stability-score>99', 'ann')).toMatchObject({ comparator: '>', threshold: 99 });
  });

  it.each([
    ['latency<3', /^--gate "latency<3": unknown gate "latency" \(known: forecast-duration, .*gc-pause\)$/],
    ['mape=25', /^--gate "mape=25": operator "=" is not one of <, <=, >, >=$/],
    ['mape=<25', /^--gate "mape=<25": operator "=<"/],
    ['mape<abc', /^--gate "mape<abc": "abc" is not a number$/],
    ['mape<', /^--gate "mape<": "" is not a number$/],
    ['mape<Infinity', /"Infinity" is not a number/],
    ['mape 25', /^--gate "mape 25": expected NAME<OP>VALUE/],
  ])('refuses %s, naming the flag value', (flag, message) => {
    expect(() => parseGateFlag(flag, 'ann')).toThrow(RolloutInputError);
    expect(() => parseGateFlag(flag, 'ann')).toThrow(message);
  });
});

describe('overrides applied to a plan', () => {
  it("replaces the plan gate's criterion (keeping its baseline factor), records what it replaced and who set it", () => {
    const input = planToInput('v19.3-batch-delay', { author: 'ann', gate: ['mape<25', 'forecast-duration<=90000'] });
    const plan = getPlan('v19.3-batch-delay').gates;
    expect(input.gates).toHaveLength(plan.length);
    expect(input.gates.find((g) => g.gate === 'mape')).toEqual({ gate: 'mape', comparator: '<', threshold: 25 });
    expect(input.gates.find((g) => g.gate === 'forecast-duration')).toEqual({ gate: 'forecast-duration', comparator: '<=', threshold: 90_000, baselineFactor: 1.1 });
    expect(input.overrides).toEqual([
      { gate: 'mape', comparator: '<', threshold: 25, replaced: { comparator: '<', threshold: 20 }, by: 'ann' },
      { gate: 'forecast-duration', comparator: '<=', threshold: 90_000, replaced: { comparator: '<', threshold: 84_000 }, by: 'ann' },
    ]);
    // The plan itself is untouched.
    expect(getPlan('v19.3-batch-delay').gates.find((g) => g.gate === 'mape')!.threshold).toBe(20);
  });

  it('adds a gate the plan does not have (no "replaced")', () => {
    const input = planToInput('v19.3-hybrid-ml', { author: 'ann', gate: ['peak-memory<70'] });
    expect(input.gates.at(-1)).toEqual({ gate: 'peak-memory', comparator: '<', threshold: 70 });
    expect(input.overrides).toEqual([{ gate: 'peak-memory', comparator: '<', threshold: 70, by: 'ann' }]);
  });

  it('no --gate: no overrides field; the same gate twice is refused', () => {
    expect(planToInput('v19.3-batch-delay', { author: 'ann' }).overrides).toBeUndefined();
    expect(() => applyGateOverrides([], [parseGateFlag('mape<25', 'a'), parseGateFlag('mape<30', 'a')])).toThrow(/mape is overridden twice/);
  });

  it('an overridden gate is judged by the new threshold', () => {
    const [mape] = planToInput('v19.3-batch-delay', { author: 'ann', gate: ['mape<25'] }).gates.filter((g) => g.gate === 'mape');
    const m = { value: 22, samples: 1, baseline: null, how: 'mean of 1 forecast run' };
    expect(evaluateGate(mape, m, 'staging', { start: '', end: '' }).status).toBe('pass');
    expect(evaluateGate(getPlan('v19.3-batch-delay').gates.find((g) => g.gate === 'mape')!, m, 'staging', { start: '', end: '' }).status).toBe('fail');
  });

  it('an input whose overrides do not match its gates is refused (a hand-made `temporal workflow start` input)', () => {
    const input = planToInput('v19.3-batch-delay', { author: 'ann', gate: ['mape<25'] });
    expect(() => parseRolloutInput({ ...input, gates: getPlan('v19.3-batch-delay').gates })).toThrow(/overrides\.0: mape < 25 is not among the gates/);
    expect(() => parseRolloutInput({ ...input, overrides: [{ gate: 'mape', comparator: '<', threshold: 25 }] })).toThrow(/overrides\.0\.by: .*required/);
    expect(parseRolloutInput(input).overrides).toEqual(input.overrides);
  });

  it('mustHaveData: false is carried to the gate result; the confirm timeout comes from the plan or the flag', () => {
    const spec = { gate: 'cache-hit-rate' as const, comparator: '>' as const, threshold: 99, mustHaveData: false };
    const r = evaluateGate(spec, { value: null, samples: 0, baseline: null, how: '', missing: 'no requests in the window' }, 'production', { start: '', end: '' });
    expect(r).toMatchObject({ status: 'inconclusive', mustHaveData: false });
    expect(evaluateGate({ ...spec, mustHaveData: undefined }, { value: 1, samples: 0, baseline: null, how: '' }, 'production', { start: '', end: '' })).not.toHaveProperty('mustHaveData');
    expect(planToInput('v19.3-batch-delay', { author: 'ann' }).confirmTimeoutMs).toBe(24 * 3_600_000);
    expect(planToInput('v19.3-batch-delay', { author: 'ann', confirmTimeout: '30s' }).confirmTimeoutMs).toBe(30_000);
    expect(() => planToInput('v19.3-batch-delay', { author: 'ann', confirmTimeout: 'soon' })).toThrow(/--confirm-timeout: "soon" is not a duration/);
  });
});
