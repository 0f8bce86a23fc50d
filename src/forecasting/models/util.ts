import type { FitResult } from '../types';

/** forecast(h) of a flat forecast. */
export function constant(value: number): (h: number) => Float64Array {
  return (h) => new Float64Array(h).fill(value);
}

/** A FitResult whose fitted values are computed only when read (some cost O(n²)). */
export function lazyFitted(forecast: (h: number) => Float64Array, fitted: () => Float64Array): FitResult {
  let cache: Float64Array | undefined;
  return {
    forecast,
    get fitted() {
      cache ??= fitted();
      return cache;
    },
  };
}

/** Round half to even, like numpy's round and Python's round(). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Round half away from zero, like C++ std::round (Math.round rounds -0.5 up). */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** A model's season length, refused when it is not a positive integer. */
export function checkSeasonLength(m: number): void {
  if (!Number.isInteger(m) || m < 1) throw new RangeError(`seasonLength must be a positive integer, got ${m}`);
}
