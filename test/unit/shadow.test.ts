import { compareShadow, figures, realisedFigures, type ShadowRow } from '../../src/rollout/shadow';

const row = (sku: string, cls: string, c: [number | null, number, number], ch: [number | null, number, number], actual: number): ShadowRow => ({
  sku,
  demandClass: cls,
  champion: { model: 'Prophet', mape: c[0], absErr: c[1], rmsse: c[2] },
  challenger: { model: 'TSB', mape: ch[0], absErr: ch[1], rmsse: ch[2] },
  actual,
});

describe('shadow A/B comparison', () => {
  const rows = [
    row('a', 'smooth', [10, 5, 0.5], [10, 5, 0.5], 50),
    row('b', 'intermittent', [40, 20, 1.2], [22, 12, 0.9], 30),
    row('c', 'intermittent', [60, 30, 1.4], [30, 15, 1.0], 20),
    row('d', 'intermittent', [null, 4, 0.8], [null, 2, 0.7], 0), // all-zero actuals: no MAPE
  ];

  test('plan MAPE is the mean of per-SKU MAPE; WAPE from the sums; outliers above the threshold', () => {
    expect(figures(rows, 'champion', 20)).toEqual({ skus: 4, mape: (10 + 40 + 60) / 3, wape: (100 * 59) / 100, rmsse: (0.5 + 1.2 + 1.4 + 0.8) / 4, outlierCount: 2, outlierMape: 50 });
    expect(figures(rows, 'challenger', 20)).toMatchObject({ mape: (10 + 22 + 30) / 3, wape: 34, outlierCount: 2, outlierMape: 26 });
    expect(figures([], 'champion', 20)).toEqual({ skus: 0, mape: null, wape: null, rmsse: null, outlierCount: 0, outlierMape: null });
  });

  test('per class and overall; realised only once actuals arrived', () => {
    const c = compareShadow(rows, { champion: 'Prophet', challenger: 'plan', cycles: 1, outlierThreshold: 20 });
    expect(Object.keys(c.byClass)).toEqual(['intermittent', 'smooth']);
    expect(c.byClass.smooth.champion).toEqual(c.byClass.smooth.challenger);
    expect(c.byClass.intermittent.challenger.wape).toBeCloseTo((100 * 29) / 50, 12);
    expect(c.realised).toBeUndefined();
    const r = realisedFigures([
      { sku: 'a', demandClass: 'smooth', days: 2, actual: 10, champion: { absErr: 4, apeSum: 0.5, apeDays: 2 }, challenger: { absErr: 2, apeSum: 0.3, apeDays: 2 } },
      { sku: 'b', demandClass: 'lumpy', days: 2, actual: 0, champion: { absErr: 1, apeSum: 0, apeDays: 0 }, challenger: { absErr: 3, apeSum: 0, apeDays: 0 } },
    ]);
    expect(r).toEqual({ skus: 2, days: 4, champion: { wape: 50, mape: 25 }, challenger: { wape: 50, mape: 15 } });
  });
});
