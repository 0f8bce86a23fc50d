import { classifyDemand, demandStats } from '../../../src/forecasting/classify';

const f = (xs: number[]) => Float64Array.from(xs);

describe('demandStats', () => {
  test('hand-computed ADI, CV², zero ratio', () => {
    // non-zero at t = 1, 4, 5 -> intervals 2, 3, 1 -> ADI 2; sizes 2, 4, 6: mean 4, var 8/3
    const s = demandStats(f([0, 2, 0, 0, 4, 6, 0, 0]));
    expect(s.adi).toBe(2);
    expect(s.cv2).toBeCloseTo(8 / 3 / 16, 12);
    expect(s.zeroRatio).toBe(5 / 8);
    expect(s.nonZero).toBe(3);
    // whole series: mean 1.5, population variance (5 zeros * 2.25 + 0.25 + 6.25 + 20.25) / 8
    expect(s.cv2Series).toBeCloseTo((11.25 + 0.25 + 6.25 + 20.25) / 8 / 2.25, 12);
  });
  test('no demand', () => {
    const s = demandStats(f([0, 0, 0]));
    expect(s.adi).toBe(Infinity);
    expect(s.cv2).toBe(0);
    expect(s.zeroRatio).toBe(1);
  });
});

describe('Syntetos-Boylan classes (ADI 1.32, CV² 0.49)', () => {
  test('smooth: every period, stable sizes', () => expect(classifyDemand(f([5, 6, 5, 4, 5, 6]))).toBe('smooth'));
  test('erratic: every period, variable sizes', () => expect(classifyDemand(f([1, 20, 1, 15, 1, 30]))).toBe('erratic'));
  test('intermittent: gaps, stable sizes', () => expect(classifyDemand(f([0, 3, 0, 0, 3, 0, 4, 0]))).toBe('intermittent'));
  test('lumpy: gaps, variable sizes', () => expect(classifyDemand(f([0, 1, 0, 0, 30, 0, 2, 0]))).toBe('lumpy'));
  test('cut-offs are inclusive on the variable/intermittent side', () => {
    // ADI exactly 1.32 is not "frequent"; CV² exactly 0.49 is "variable"
    expect(classifyDemand(f([5, 5]), { adi: 1 })).toBe('intermittent');
    expect(classifyDemand(f([1, 3]), { cv2: 0.25 })).toBe('erratic'); // sizes 1,3: CV² = 1/4
  });
  test('all zero counts as intermittent', () => expect(classifyDemand(f([0, 0, 0, 0]))).toBe('intermittent'));
});
