import { isValidIsoDate } from './dates';
import { isModelName, THETA_MIN_HISTORY } from './models';
import { ForecastInputError, type ModelName, type SeriesInput } from './types';

/** Every model needs two observations; SeasonalNaive needs a full season, Theta 4 points. */
export const MIN_HISTORY = 2;

/** 7 for daily data (weekly cycle), 52 for weekly data (yearly cycle). */
export function defaultSeasonLength(freqDays: number): number {
  return freqDays === 7 ? 52 : 7;
}

export function minHistory(model: ModelName, seasonLength: number): number {
  if (model === 'SeasonalNaive') return Math.max(MIN_HISTORY, seasonLength);
  return model === 'Theta' ? THETA_MIN_HISTORY : MIN_HISTORY;
}

/** Refuses what no model can use: bad id/start/frequency, empty history, NaN or negative values. */
export function validateSeries(series: SeriesInput): void {
  const sku = typeof series?.id === 'string' && series.id !== '' ? series.id : '(no id)';
  if (sku === '(no id)') throw new ForecastInputError(sku, 'series has no id');
  if (!isValidIsoDate(series.start)) throw new ForecastInputError(sku, `start must be an ISO date YYYY-MM-DD, got "${series.start}"`);
  if (!Number.isInteger(series.freqDays) || series.freqDays < 1) {
    throw new ForecastInputError(sku, `freqDays must be a positive whole number of days, got ${series.freqDays}`);
  }
  const y = series.y;
  if (!(y instanceof Float64Array)) throw new ForecastInputError(sku, 'history must be a Float64Array');
  if (y.length === 0) throw new ForecastInputError(sku, 'empty history');
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (!Number.isFinite(v)) throw new ForecastInputError(sku, `history value ${v} at position ${i} is not a finite number`);
    if (v < 0) throw new ForecastInputError(sku, `negative history value ${v} at position ${i}`);
  }
}

export function validateHorizon(sku: string, h: unknown): number {
  if (typeof h !== 'number' || !Number.isInteger(h) || h <= 0) {
    throw new ForecastInputError(sku, `horizon must be a positive whole number, got ${String(h)}`);
  }
  return h;
}

export function validateModelName(sku: string, name: unknown): ModelName {
  if (typeof name !== 'string' || !isModelName(name)) {
    throw new ForecastInputError(sku, `unknown model "${String(name)}"`);
  }
  return name;
}

export function checkLength(series: SeriesInput, model: ModelName, seasonLength: number): void {
  const need = minHistory(model, seasonLength);
  if (series.y.length < need) {
    throw new ForecastInputError(series.id, `history too short for ${model}: ${series.y.length} point(s), need at least ${need}`);
  }
}
