import { ForecastInputError, type SeriesInput } from './types';

/**
 * The one calendar-date module (UTC days as YYYY-MM-DD strings): parse, validate, add days. Used by
 * the engine, config, API, CLI, database and rollout input alike, so every caller refuses the same
 * impossible dates (2025-02-30, 2025-13-01) with the same words.
 */

const DAY_MS = 86_400_000;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A real calendar date written YYYY-MM-DD (2025-02-30 is not). */
export function isValidIsoDate(s: unknown): s is string {
  if (typeof s !== 'string' || !ISO_DATE.test(s)) return false;
  const day = isoToDay(s); // NaN for a month or day out of range (2025-13-01): false, not a throw
  return Number.isFinite(day) && dayToIso(day) === s;
}

/** Returns `s` if it is a calendar date, else throws naming `what`: `runDate: "2025-02-30" is not a date YYYY-MM-DD`. */
export function parseIsoDate(s: unknown, what: string): string {
  if (!isValidIsoDate(s)) throw new Error(`${what}: ${JSON.stringify(s)} is not a date YYYY-MM-DD`);
  return s;
}

export function addDays(iso: string, days: number): string {
  return dayToIso(isoToDay(iso) + days);
}

/** Today's date in UTC (not for workflow code, which uses its start time). */
export function todayUtc(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

export function isoToDay(iso: string): number {
  return Date.parse(`${iso}T00:00:00Z`) / DAY_MS;
}

export function dayToIso(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** ISO date of y[index] (index may run past the history). */
export function dateAt(series: Pick<SeriesInput, 'start' | 'freqDays'>, index: number): string {
  return dayToIso(isoToDay(series.start) + index * series.freqDays);
}

/** The h dates after the history, continuing its frequency (daily or weekly). */
export function futureDates(series: SeriesInput, h: number): string[] {
  const first = isoToDay(series.start) + series.y.length * series.freqDays;
  const out: string[] = new Array<string>(h);
  for (let i = 0; i < h; i++) out[i] = dayToIso(first + i * series.freqDays);
  return out;
}

/**
 * Frequency of a SKU's sorted, distinct dates: 1 (daily) or 7 (weekly), taken from the smallest
 * step. Every step must equal it: a missing date or an irregular step is an error naming the
 * SKU and the first gap (long files should carry explicit zero rows).
 */
export function inferFrequency(sku: string, days: ArrayLike<number>): number {
  if (days.length < 2) return 1;
  let freq = Infinity;
  for (let i = 1; i < days.length; i++) freq = Math.min(freq, days[i] - days[i - 1]);
  if (freq !== 1 && freq !== 7) {
    throw new ForecastInputError(sku, `dates are neither daily nor weekly (smallest step ${freq} days)`);
  }
  for (let i = 1; i < days.length; i++) {
    if (days[i] - days[i - 1] !== freq) {
      const unit = freq === 1 ? 'daily' : 'weekly';
      throw new ForecastInputError(
        sku,
        `irregular ${unit} dates: ${dayToIso(days[i - 1])} is followed by ${dayToIso(days[i])} (${days[i] - days[i - 1]} days); fill gaps with explicit 0 rows`,
      );
    }
  }
  return freq;
}
