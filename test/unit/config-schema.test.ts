import {
  CONFIG_KEY_NAMES,
  CONFIG_KEYS,
  ConfigError,
  defaultsFromEnv,
  parseChanges,
  parseConfigValue,
  parseAssignments,
  parseEnvironment,
} from '../../src/config/schema';

function refusal(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('config schema', () => {
  it('has the plan defaults', () => {
    const d = defaultsFromEnv({});
    expect(d.STREAMING_BATCH_DELAY_MS).toBe(500);
    expect(d.ENABLE_PREDICTIVE_PREFETCH).toBe(true);
    expect(d.PREFETCH_MORNING_PEAK_HOUR).toBe(11);
    expect(d.PREFETCH_AFTERNOON_PEAK_HOUR).toBe(17);
    expect(d.PREFETCH_LEAD_TIME_MINUTES).toBe(2);
    expect(d.PREFETCH_TOP_N_QUERIES).toBe(50);
    expect(d.PREFETCH_INCLUDE_RECENT).toBe(true);
    expect(d.ENABLE_HYBRID_FORECASTING).toBe(true);
    expect(d.INTERMITTENT_DEMAND_ZERO_RATIO_THRESHOLD).toBe(0.5);
    expect(d.INTERMITTENT_DEMAND_CV_SQUARED_THRESHOLD).toBe(0.49);
    expect(d.CROSTON_ALPHA).toBe(0.1);
    expect(d.TSB_ALPHA).toBe(0.1);
    expect(d.TSB_BETA).toBe(0.1);
  });

  it('every default satisfies its own rule', () => {
    for (const k of CONFIG_KEY_NAMES) expect(parseConfigValue(k, CONFIG_KEYS[k].default)).toEqual(CONFIG_KEYS[k].default);
  });

  it('parses strings from the environment and the CLI', () => {
    expect(parseConfigValue('STREAMING_BATCH_DELAY_MS', '300')).toBe(300);
    expect(parseConfigValue('ENABLE_PREDICTIVE_PREFETCH', 'false')).toBe(false);
    expect(parseConfigValue('CROSTON_ALPHA', ' 0.25 ')).toBe(0.25);
    expect(parseConfigValue('SELECTION_POLICY', 'sbc')).toBe('sbc');
    expect(defaultsFromEnv({ STREAMING_BATCH_DELAY_MS: '300' }).STREAMING_BATCH_DELAY_MS).toBe(300);
  });

  it.each([
    ['STREAMING_BATCH_DELAY_MS', '-5', 'whole number of ms'],
    ['STREAMING_BATCH_DELAY_MS', 'abc', 'whole number of ms'],
    ['STREAMING_BATCH_DELAY_MS', '2.5', 'whole number of ms'],
    ['STREAMING_BATCH_DELAY_MS', '', 'whole number of ms'],
    ['PREFETCH_MORNING_PEAK_HOUR', '25', 'hour 0..23'],
    ['PREFETCH_AFTERNOON_PEAK_HOUR', '-1', 'hour 0..23'],
    ['PREFETCH_LEAD_TIME_MINUTES', '0', '1..59'],
    ['PREFETCH_TOP_N_QUERIES', '0', '1..100000'],
    ['INTERMITTENT_DEMAND_ZERO_RATIO_THRESHOLD', '1.5', 'between 0 and 1'],
    ['INTERMITTENT_DEMAND_CV_SQUARED_THRESHOLD', '-0.1', 'between 0 and 1'],
    ['CROSTON_ALPHA', '2', 'between 0 and 1'],
    ['TSB_ALPHA', 'x', 'between 0 and 1'],
    ['TSB_BETA', '1.01', 'between 0 and 1'],
    ['ENABLE_PREDICTIVE_PREFETCH', 'yes', 'true or false'],
    ['ENABLE_HYBRID_FORECASTING', '1', 'true or false'],
    ['PREFETCH_INCLUDE_RECENT', 'TRUE ', 'true or false'],
    ['SELECTION_POLICY', 'best', 'one of plan, sbc, backtest-best'],
    ['FORECAST_BATCH_SIZE', '0', '1..100000'],
  ])('refuses %s=%j naming the key and the rule', (key, value, rule) => {
    const err = refusal(() => parseConfigValue(key as never, value));
    expect(err.message).toContain(key);
    expect(err.message).toContain(rule);
  });

  it('refuses unknown keys', () => {
    const err = refusal(() => parseChanges({ STREAMING_BATCH_DELAY: '300' }));
    expect(err.message).toContain('STREAMING_BATCH_DELAY: unknown key');
  });

  it('refuses a whole change set when one value is bad, naming every bad key', () => {
    const err = refusal(() => parseChanges({ STREAMING_BATCH_DELAY_MS: '300', CROSTON_ALPHA: '7', NOPE: '1' }));
    expect(err.problems.map((p) => p.key).sort()).toEqual(['CROSTON_ALPHA', 'NOPE']);
  });

  it('refuses a bad process-environment value rather than ignoring it', () => {
    expect(() => defaultsFromEnv({ STREAMING_BATCH_DELAY_MS: '-5' })).toThrow(/STREAMING_BATCH_DELAY_MS/);
  });

  it('knows the environments', () => {
    expect(parseEnvironment('staging')).toBe('staging');
    expect(() => parseEnvironment('qa')).toThrow(/unknown environment "qa"/);
  });

  it('parses KEY=VALUE assignments and refuses malformed ones', () => {
    expect(parseAssignments(['STREAMING_BATCH_DELAY_MS=300', 'CROSTON_ALPHA=0.2'])).toEqual({
      STREAMING_BATCH_DELAY_MS: '300',
      CROSTON_ALPHA: '0.2',
    });
    expect(() => parseAssignments(['STREAMING_BATCH_DELAY_MS'])).toThrow(/expected KEY=VALUE/);
  });
});
