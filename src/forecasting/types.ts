/** Shared shapes of the forecasting engine. Pure data: no services, no Temporal. */

export const MODEL_NAMES = [
  'Naive',
  'SeasonalNaive',
  'HistoricAverage',
  'SES',
  'SESOptimized',
  'CrostonClassic',
  'CrostonSBA',
  'CrostonOptimized',
  'TSB',
  'ADIDA',
  'IMAPA',
  'Theta',
  'Prophet',
  'Ensemble',
] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** One SKU's history at a regular frequency (daily = 1, weekly = 7), oldest first. */
export interface SeriesInput {
  id: string;
  /** ISO date (YYYY-MM-DD) of y[0]. */
  start: string;
  freqDays: number;
  y: Float64Array;
}

export interface FitResult {
  /** Point forecast for the next h periods. */
  forecast(h: number): Float64Array;
  /** In-sample fitted values where the reference implementation has them (NaN where undefined). */
  fitted?: Float64Array;
}

export interface Model {
  readonly name: ModelName;
  fit(series: SeriesInput): FitResult;
}

/** Bad input to the engine: names the SKU and what was wrong. */
export class ForecastInputError extends Error {
  constructor(
    readonly sku: string,
    readonly problem: string,
  ) {
    super(`SKU ${sku}: ${problem}`);
    this.name = 'ForecastInputError';
  }
}
