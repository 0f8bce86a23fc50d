import { barChart, mapeHistogram, renderCycleReport } from '../../src/client/html-report';

describe('cycle report', () => {
  it('bins per-SKU MAPE in 5-point bins, outliers red, 100+ in the last bin', () => {
    const bars = mapeHistogram([0, 4.99, 5, 24.9, 25, 99.9, 100, 350], 25);
    expect(bars).toHaveLength(21);
    expect(bars[0].value).toBe(2);
    expect(bars[1].value).toBe(1);
    expect(bars[4].value).toBe(1);
    expect(bars[5].value).toBe(1);
    expect(bars[19].value).toBe(1);
    expect(bars[20]).toMatchObject({ label: '100+', value: 2 });
    expect(bars[4].color).not.toBe(bars[5].color);
  });

  it('draws one bar per value, scaled to the largest', () => {
    const svg = barChart([{ label: 'a', value: 1 }, { label: 'b', value: 3 }], { yLabel: 'n', height: 100 });
    const heights = [...svg.matchAll(/<rect [^>]*height="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(heights).toHaveLength(2);
    expect(heights[1] / heights[0]).toBeCloseTo(3, 6);
  });

  it('escapes text and colours gate statuses', () => {
    const html = renderCycleReport({
      title: 'cycle <x>',
      skuMape: [{ sku: 'SKU-1', model: 'Prophet', mape: 12 }],
      outlierThreshold: 25,
      batches: [{ index: 0, durationMs: 900, skus: 100 }],
      batchDelayMs: 300,
      hitRates: [{ label: 'day 1', rate: 0.99 }],
      gates: [{ environment: 'staging', gate: 'mape', status: 'fail', detail: '31 % > 20 %' }],
    });
    expect(html).toContain('cycle &lt;x&gt;');
    expect(html).not.toContain('<x>');
    expect(html).toContain('color:#c0392b">fail');
    expect(html.match(/<svg /g)).toHaveLength(4);
  });
});
