import { DEFAULT_SELECTION } from '../../../src/forecasting/select';
import { parseServes, servesSelection } from '../../../src/forecasting/serves';

describe('what an assignment serves', () => {
  test('a model forces that model; the selection is untouched', () => {
    const sel = { ...DEFAULT_SELECTION, hybridEnabled: false };
    expect(servesSelection('TSB', sel)).toEqual({ model: 'TSB', selection: sel });
  });
  test('a policy runs with hybrid on, whatever the environment says', () => {
    const out = servesSelection('class-best', { ...DEFAULT_SELECTION, policy: 'plan', hybridEnabled: false });
    expect(out.model).toBeUndefined();
    expect(out.selection).toMatchObject({ policy: 'class-best', hybridEnabled: true });
  });
  test('anything else is refused naming the value and the flag', () => {
    expect(parseServes('Prophet')).toBe('Prophet');
    expect(parseServes('plan')).toBe('plan');
    expect(() => parseServes('prophet', '--serves')).toThrow('--serves: "prophet" is neither a model (Naive, ');
    expect(() => parseServes(3)).toThrow('serves: 3 is neither');
  });
});
