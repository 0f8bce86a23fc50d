import { classOf, demandStats, type DemandClass, type DemandStats } from './classify';
import { ErrorSums } from './metrics';
import type { ModelParams } from './models';
import { predict } from './predict';
import type { ModelName, SeriesInput } from './types';
import { defaultSeasonLength, minHistory } from './validate';

export const SELECTION_POLICIES = ['plan', 'sbc', 'backtest-best'] as const;
export type SelectionPolicy = (typeof SELECTION_POLICIES)[number];

export interface SelectionOptions {
  policy: SelectionPolicy;
  /** ENABLE_HYBRID_FORECASTING; false = Prophet for every SKU. */
  hybridEnabled: boolean;
  /** INTERMITTENT_DEMAND_ZERO_RATIO_THRESHOLD */
  zeroRatioThreshold: number;
  /** INTERMITTENT_DEMAND_CV_SQUARED_THRESHOLD; also the SBC CV² cut-off. */
  cvSquaredThreshold: number;
  /** CROSTON_ALPHA */
  crostonAlpha: number;
  /** TSB_ALPHA: demand-size smoothing (alpha_d). */
  tsbAlpha: number;
  /** TSB_BETA: demand-probability smoothing (alpha_p). */
  tsbBeta: number;
  /** backtest-best: models tried. */
  candidates: readonly ModelName[];
  /** backtest-best: holdout windows of `horizon` periods each, at the end of the history. */
  validationWindows: number;
}

export const DEFAULT_CANDIDATES: readonly ModelName[] = [
  'SeasonalNaive', 'SESOptimized', 'CrostonClassic', 'CrostonSBA', 'TSB', 'ADIDA', 'IMAPA', 'Prophet',
];

export const DEFAULT_SELECTION: SelectionOptions = {
  policy: 'plan',
  hybridEnabled: true,
  zeroRatioThreshold: 0.5,
  cvSquaredThreshold: 0.49,
  crostonAlpha: 0.1,
  tsbAlpha: 0.1,
  tsbBeta: 0.1,
  candidates: DEFAULT_CANDIDATES,
  validationWindows: 2,
};

/** Below this many points the SBC policy does not use Prophet on smooth demand (SESOptimized). */
export const PROPHET_MIN_HISTORY = 14;

export interface Selection {
  model: ModelName;
  params: ModelParams;
  demandClass: DemandClass;
  /** Short human reason, e.g. "zero ratio 0.82 > 0.5". */
  reason: string;
}

export interface SelectionContext {
  /** Forecast horizon; backtest-best validates on windows of this length (default 7). */
  horizon?: number;
  seasonLength?: number;
  /** Caller's params (e.g. seasonLength), kept unless the policy sets the same key. */
  params?: ModelParams;
}

const fmt = (x: number): string => (Number.isFinite(x) ? String(Math.round(x * 1000) / 1000) : String(x));

/**
 * Picks the model for one SKU. Policies:
 *  - plan: the kickoff plan's rule on the whole history: zero ratio > threshold -> CrostonClassic
 *    (CROSTON_ALPHA); else CV² of the series (zeros included) > threshold -> TSB (TSB_ALPHA,
 *    TSB_BETA); else Prophet.
 *  - sbc: Syntetos-Boylan classes (ADI 1.32, CV² threshold): smooth -> Prophet (SESOptimized when
 *    shorter than PROPHET_MIN_HISTORY), erratic -> TSB, intermittent -> CrostonSBA (the bias-
 *    corrected Croston Syntetos and Boylan propose for that class), lumpy -> TSB (which decays
 *    its forecast when demand stops, unlike Croston).
 *  - backtest-best: the candidate with the lowest holdout MAE (same ranking as WAPE on one SKU)
 *    over the last validationWindows x horizon periods; sbc when the history is too short.
 * hybridEnabled = false short-circuits all of them to Prophet.
 */
export function selectModel(series: SeriesInput, options: Partial<SelectionOptions> = {}, ctx: SelectionContext = {}): Selection {
  const o: SelectionOptions = { ...DEFAULT_SELECTION, ...options };
  const stats = demandStats(series.y);
  const demandClass = classOf(stats, { cv2: o.cvSquaredThreshold });
  const base = ctx.params ?? {};
  if (!o.hybridEnabled) return { model: 'Prophet', params: base, demandClass, reason: 'hybrid forecasting disabled' };
  switch (o.policy) {
    case 'plan':
      return { ...planRule(stats, o, base), demandClass };
    case 'sbc':
      return { ...sbcRule(stats, demandClass, o, base), demandClass };
    case 'backtest-best':
      return { ...backtestBest(series, stats, demandClass, o, ctx), demandClass };
    default:
      throw new Error(`unknown selection policy "${String(o.policy)}"`);
  }
}

type Pick = Omit<Selection, 'demandClass'>;

function planRule(s: DemandStats, o: SelectionOptions, base: ModelParams): Pick {
  if (s.zeroRatio > o.zeroRatioThreshold) {
    return { model: 'CrostonClassic', params: { ...base, alpha: o.crostonAlpha }, reason: `zero ratio ${fmt(s.zeroRatio)} > ${o.zeroRatioThreshold}` };
  }
  if (s.cv2Series > o.cvSquaredThreshold) {
    return { model: 'TSB', params: { ...base, alphaD: o.tsbAlpha, alphaP: o.tsbBeta }, reason: `CV² ${fmt(s.cv2Series)} > ${o.cvSquaredThreshold}` };
  }
  return { model: 'Prophet', params: base, reason: `zero ratio ${fmt(s.zeroRatio)} and CV² ${fmt(s.cv2Series)} within thresholds` };
}

function sbcRule(s: DemandStats, cls: DemandClass, o: SelectionOptions, base: ModelParams): Pick {
  const why = `${cls} (ADI ${fmt(s.adi)}, CV² ${fmt(s.cv2)})`;
  switch (cls) {
    case 'smooth':
      return s.n >= PROPHET_MIN_HISTORY
        ? { model: 'Prophet', params: base, reason: why }
        : { model: 'SESOptimized', params: base, reason: `${why}, too short for Prophet` };
    case 'intermittent':
      return { model: 'CrostonSBA', params: { ...base, alpha: o.crostonAlpha }, reason: why };
    default: // erratic, lumpy
      return { model: 'TSB', params: { ...base, alphaD: o.tsbAlpha, alphaP: o.tsbBeta }, reason: why };
  }
}

/** Policy params for a candidate, so backtest-best tries Croston/TSB as configured. */
function paramsFor(model: ModelName, o: SelectionOptions, base: ModelParams): ModelParams {
  if (model === 'CrostonClassic' || model === 'CrostonSBA') return { ...base, alpha: o.crostonAlpha };
  if (model === 'TSB') return { ...base, alphaD: o.tsbAlpha, alphaP: o.tsbBeta };
  return base;
}

function backtestBest(series: SeriesInput, s: DemandStats, cls: DemandClass, o: SelectionOptions, ctx: SelectionContext): Pick {
  const base = ctx.params ?? {};
  const h = ctx.horizon ?? 7;
  const m = ctx.seasonLength ?? base.seasonLength ?? defaultSeasonLength(series.freqDays);
  const w = Math.max(1, o.validationWindows);
  const n = series.y.length;
  const firstCut = n - w * h;
  let best: Pick | undefined;
  let bestMae = Infinity;
  for (const model of o.candidates) {
    if (firstCut < Math.max(minHistory(model, m), PROPHET_MIN_HISTORY)) continue;
    const params = paramsFor(model, o, base);
    const err = new ErrorSums();
    for (let cut = firstCut; cut + h <= n; cut += h) {
      const train = { ...series, y: series.y.subarray(0, cut) };
      err.add(series.y, predict(train, model, params, h), cut);
    }
    if (err.mae < bestMae) {
      bestMae = err.mae;
      best = { model, params, reason: `lowest holdout MAE ${fmt(err.mae)} over ${w}x${h} periods` };
    }
  }
  if (best) return best;
  const fallback = sbcRule(s, cls, o, base);
  return { ...fallback, reason: `${fallback.reason}; history too short to validate` };
}
