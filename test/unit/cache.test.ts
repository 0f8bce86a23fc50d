import { minuteProfile, rng, Workload } from '../../src/api/workload';
import { createMemoryCache } from '../../src/cache/memory';
import { reconnectDelayMs } from '../../src/cache/redis';
import { inPeakWindow, peakWindows } from '../../src/cache/stats';
import { forecastKey } from '../../src/cache/forecasts';

/** Pure parts of the cache: peak windows, reconnect backoff, key scheme, memory TTL, the workload model. */

test('peak windows are PEAK_HOUR:30 to PEAK_HOUR+1:30 UTC, end exclusive, wrapping midnight', () => {
  const w = peakWindows({ PREFETCH_MORNING_PEAK_HOUR: 11, PREFETCH_AFTERNOON_PEAK_HOUR: 17 });
  const at = (hhmm: string) => inPeakWindow(new Date(`2025-11-20T${hhmm}:00Z`), w);
  expect([at('11:29'), at('11:30'), at('12:29'), at('12:30'), at('17:30'), at('18:29'), at('18:30')]).toEqual([false, true, true, false, true, true, false]);
  const late = peakWindows({ PREFETCH_MORNING_PEAK_HOUR: 23, PREFETCH_AFTERNOON_PEAK_HOUR: 5 });
  expect(inPeakWindow(new Date('2025-11-21T00:15:00Z'), late)).toBe(true);
  expect(inPeakWindow(new Date('2025-11-21T00:30:00Z'), late)).toBe(false);
});

test('reconnect backoff grows exponentially to 2 s with jitter between half and all of it', () => {
  expect(reconnectDelayMs(1, () => 0)).toBe(50);
  expect(reconnectDelayMs(1, () => 1)).toBe(100);
  expect(reconnectDelayMs(3, () => 0.5)).toBe(300);
  expect(reconnectDelayMs(50, () => 0)).toBe(1000);
  expect(reconnectDelayMs(50, () => 1)).toBe(2000);
  const spread = new Set(Array.from({ length: 50 }, () => reconnectDelayMs(10)));
  expect(spread.size).toBeGreaterThan(10);
});

test('one key per environment, horizon and SKU', () => {
  expect(forecastKey('production', 'SKU-1', 7)).toBe('neuro:forecast:production:h7:SKU-1');
  expect(forecastKey('staging', 'SKU-1', 7)).not.toBe(forecastKey('production', 'SKU-1', 7));
  expect(forecastKey('production', 'SKU-1', 14)).not.toBe(forecastKey('production', 'SKU-1', 7));
});

test('memory cache: TTL expiry, bounded size, mget order', async () => {
  let now = 1_000_000;
  const cache = createMemoryCache({ maxKeys: 3, now: () => now });
  await cache.setMany([
    { key: 'a', value: '1', ttlSeconds: 10 },
    { key: 'b', value: '2', ttlSeconds: 1 },
  ]);
  expect(await cache.mget(['b', 'x', 'a'])).toEqual(['2', null, '1']);
  expect(await cache.getWithTtl('a')).toEqual({ value: '1', pttlMs: 10_000 });
  now += 1500;
  expect(await cache.get('b')).toBeNull();
  expect(await cache.pttl('b')).toBe(-2);
  await cache.setMany(['c', 'd', 'e'].map((key) => ({ key, value: key, ttlSeconds: 10 })));
  expect(await cache.get('a')).toBeNull(); // oldest dropped past maxKeys
  expect(await cache.mget(['c', 'd', 'e'])).toEqual(['c', 'd', 'e']);
});

describe('workload', () => {
  const skus = Array.from({ length: 200 }, (_, i) => `S${i}`);

  test('is deterministic for a seed and time-ordered', () => {
    const a = new Workload({ skus, seed: 3 }).day(2, 2000, new Date(0));
    const b = new Workload({ skus, seed: 3 }).day(2, 2000, new Date(0));
    expect(a).toEqual(b);
    expect(a.every((q, i) => i === 0 || q.at >= a[i - 1].at)).toBe(true);
    expect(a.every((q) => q.at.getTime() >= 2 * 86_400_000 && q.at.getTime() < 3 * 86_400_000)).toBe(true);
    expect(new Workload({ skus, seed: 4 }).day(2, 2000, new Date(0))).not.toEqual(a);
  });

  test('SKU popularity is skewed (Zipf), most queries use the default horizon, peaks are busier', () => {
    const q = new Workload({ skus, seed: 1 }).day(0, 20_000, new Date(0));
    const counts = new Map<string, number>();
    for (const x of q) counts.set(x.sku, (counts.get(x.sku) ?? 0) + 1);
    const sorted = [...counts.values()].sort((x, y) => y - x);
    expect(sorted[0]).toBeGreaterThan(10 * sorted[99]);
    const share7 = q.filter((x) => x.horizon === 7).length / q.length;
    expect(share7).toBeGreaterThan(0.9);
    expect(share7).toBeLessThan(1);
    const perMinute = (from: number) => q.filter((x) => x.at.getUTCHours() * 60 + x.at.getUTCMinutes() - from >= 0 && x.at.getUTCHours() * 60 + x.at.getUTCMinutes() - from < 60).length;
    expect(perMinute(11 * 60 + 30)).toBeGreaterThan(2 * perMinute(9 * 60));
    expect(minuteProfile()[3 * 60]).toBeLessThan(minuteProfile()[9 * 60]);
  });

  test('trending patterns change from day to day', () => {
    const w = new Workload({ skus, seed: 9 });
    expect(w.trending(1)).not.toEqual(w.trending(2));
    expect(rng(5)()).toBe(rng(5)());
  });
});
