/**
 * The engine's defaults and limits, defined once and imported by config, API, cache and rollout
 * input (this module imports nothing, so the engine stays free of service imports).
 */

/** Longest horizon a run, the API or the cache accepts (days). */
export const MAX_HORIZON_DAYS = 365;

/** A SKU whose backtest MAPE (percent) is above this is an outlier (OUTLIER_MAPE_THRESHOLD's default). */
export const DEFAULT_OUTLIER_MAPE = 25;
