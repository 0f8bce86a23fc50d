import { futureDates, inferFrequency, isoToDay } from '../../../src/forecasting/dates';
import { ADI_CUTOFF, classifyDemand, CV2_CUTOFF, DEMAND_CLASSES, demandStats } from '../../../src/forecasting/classify';
import { generateCatalogue, PLAN_INTERMITTENT_SKUS } from '../../../src/forecasting/synthetic';
import { ForecastInputError } from '../../../src/forecasting/types';

describe('dates', () => {
  test('futureDates continues daily and weekly series', () => {
    const y = new Float64Array(3);
    expect(futureDates({ id: 'a', start: '2024-02-27', freqDays: 1, y }, 3)).toEqual(['2024-03-01', '2024-03-02', '2024-03-03']);
    expect(futureDates({ id: 'a', start: '2024-12-16', freqDays: 7, y }, 2)).toEqual(['2025-01-06', '2025-01-13']);
  });
  test('inferFrequency: daily, weekly, gaps named', () => {
    const d = (xs: string[]) => xs.map(isoToDay);
    expect(inferFrequency('a', d(['2024-01-01', '2024-01-02']))).toBe(1);
    expect(inferFrequency('a', d(['2024-01-01', '2024-01-08', '2024-01-15']))).toBe(7);
    expect(() => inferFrequency('SKU-9', d(['2024-01-01', '2024-01-02', '2024-01-04']))).toThrow(/SKU SKU-9: irregular daily dates: 2024-01-02 is followed by 2024-01-04/);
    expect(() => inferFrequency('SKU-9', d(['2024-01-01', '2024-01-04']))).toThrow(ForecastInputError);
  });
});

describe('synthetic catalogue', () => {
  test('deterministic, lengths in range, plan SKUs present and intermittent', () => {
    const a = [...generateCatalogue({ skus: 50, seed: 7 })];
    const b = [...generateCatalogue({ skus: 50, seed: 7 })];
    expect(a.map((x) => Array.from(x.y))).toEqual(b.map((x) => Array.from(x.y)));
    expect(a.every((x) => x.y.length >= 365 && x.y.length <= 730)).toBe(true);
    for (const id of PLAN_INTERMITTENT_SKUS) {
      const sku = a.find((x) => x.id === id);
      expect(sku?.kind).toBe('intermittent');
      expect(classifyDemand(sku!.y)).toBe('intermittent');
    }
    expect(new Set(a.map((x) => x.id)).size).toBe(50);
  });
  test.each([42, 1, 2024])('default 700-SKU catalogue (seed %i): all four classes, nearly all smooth, plan SKUs intermittent', (seed) => {
    const cat = [...generateCatalogue({ skus: 700, days: 730, seed })];
    const classes = cat.map((x) => classifyDemand(x.y));
    expect(classes.filter((c, i) => c === cat[i].kind).length / cat.length).toBeGreaterThan(0.95);
    expect(new Set(classes)).toEqual(new Set(DEMAND_CLASSES));
    expect(classes.filter((c) => c === 'smooth').length / cat.length).toBeGreaterThan(0.97);
    // regular sellers sell every day
    expect(cat.filter((x) => x.kind === 'smooth').some((x) => x.y.includes(0))).toBe(false);
    for (const id of PLAN_INTERMITTENT_SKUS) {
      const s = demandStats(cat.find((x) => x.id === id)!.y);
      expect(s.adi).toBeGreaterThanOrEqual(ADI_CUTOFF);
      expect(s.cv2).toBeLessThan(CV2_CUTOFF); // fairly stable sizes
      // demand on a good share of days, not a handful of spikes
      expect(s.zeroRatio).toBeGreaterThan(1 - 1 / ADI_CUTOFF);
      expect(s.zeroRatio).toBeLessThan(0.75);
    }
  });
  test('mix shares are met closely and a catalogue prefix does not depend on its size', () => {
    const cat = [...generateCatalogue({ skus: 204, days: 100, seed: 3, mix: { smooth: 0.5, lumpy: 0.5 } })];
    const lumpy = cat.filter((x) => x.kind === 'lumpy').length;
    expect(Math.abs(lumpy - 100)).toBeLessThanOrEqual(3);
    const small = [...generateCatalogue({ skus: 20, days: 100, seed: 3, mix: { smooth: 0.5, lumpy: 0.5 } })];
    expect(small.map((x) => Array.from(x.y))).toEqual(cat.slice(0, 20).map((x) => Array.from(x.y)));
  });
  test('fixed start date', () => {
    const [x] = generateCatalogue({ skus: 1, days: 10, start: '2023-05-01' });
    expect(x.start).toBe('2023-05-01');
    expect(x.y).toHaveLength(10);
  });
});

test('mix chooses the kinds', () => {
  const cat = [...generateCatalogue({ skus: 40, days: 100, mix: { smooth: 1 } })];
  expect(cat.filter((x) => x.kind !== 'smooth').map((x) => x.id)).toEqual([...PLAN_INTERMITTENT_SKUS]);
});
