import { classOf, DEMAND_CLASSES, demandStats, type DemandClass, type DemandStats } from './classify';
import { ErrorSums, m5Scale } from './metrics';
import { combineForecasts, ENSEMBLE_MEMBERS, type Combine, type ModelParams } from './models';
import { predict } from './predict';
import type { ModelName, SeriesInput } from './types';
import { defaultSeasonLength, minHistory } from './validate';

export const SELECTION_POLICIES = ['plan', 'sbc', 'backtest-best', 'class-best'] as const;
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
  /** class-best: the model per demand class (chooseClassModels); CLASS_DEFAULTS where missing. */
  classModels?: ClassModels;
}

/** A class's model: one model by name, or the mean/median of several (an Ensemble with these members). */
export type ClassModel = ModelName | { members: readonly ModelName[]; combine: Combine };
export type ClassModels = Partial<Record<DemandClass, ClassModel>>;

/** "Prophet", or "mean(Prophet+SeasonalNaive)". */
export const classModelLabel = (c: ClassModel): string => (typeof c === 'string' ? c : `${c.combine}(${c.members.join('+')})`);

/**
 * class-best's defaults, kept by a class without enough evidence: the combination for intermittent
 * demand, Prophet otherwise. Measured on the README's data sets (so chosen in-sample): with lumpy ->
 * Ensemble instead, class-best fell behind Prophet on Superstore category x region (38.4 / 0.864 vs 38.3 / 0.859).
 */
export const CLASS_DEFAULTS: Record<DemandClass, ModelName> = { smooth: 'Prophet', erratic: 'Prophet', intermittent: 'Ensemble', lumpy: 'Prophet' };

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
 *  - class-best: the model (or the combination, served as an Ensemble) of the SKU's demand class in
 *    classModels (chosen on the catalogue by chooseClassModels), else CLASS_DEFAULTS; Prophet or
 *    Theta, or a chosen combination with either, falls back to SESOptimized on a history shorter
 *    than PROPHET_MIN_HISTORY.
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
    case 'class-best': {
      const chosen = o.classModels?.[demandClass];
      const spec = chosen ?? CLASS_DEFAULTS[demandClass];
      const why = `${demandClass} (ADI ${fmt(stats.adi)}, CV² ${fmt(stats.cv2)}): ${chosen ? `${classModelLabel(spec)} chosen for the class by backtest` : 'class default'}`;
      // Prophet and Theta (fewer than 4 points) need a longer history than the others
      const long = (m: ModelName) => m === 'Prophet' || m === 'Theta';
      const needsLong = typeof spec === 'string' ? long(spec) : spec.members.some(long);
      if (needsLong && stats.n < PROPHET_MIN_HISTORY) return { model: 'SESOptimized', params: base, demandClass, reason: `${why}, too short for ${classModelLabel(spec)}` };
      if (typeof spec !== 'string') return { model: 'Ensemble', params: { ...base, members: spec.members, combine: spec.combine }, demandClass, reason: why };
      return { model: spec, params: paramsFor(spec, o, base), demandClass, reason: why };
    }
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

/** Holdout windows chooseClassModels judges on: at least this many per SKU... */
export const CLASS_WINDOWS = 3;
/** ...and more (up to CLASS_MAX_WINDOWS) until the class gives this many (SKU, window) pairs. */
export const CLASS_MIN_PAIRS = 30;
export const CLASS_MAX_WINDOWS = 12;
/** Combinations judged per class: the mean of the class's best 2 and 3 single models. */
export const COMBINATION_SIZES: readonly number[] = [2, 3];

/** Windows per SKU for a class of `skus` series (see CLASS_MIN_PAIRS). */
export const classWindows = (skus: number): number => Math.min(CLASS_MAX_WINDOWS, Math.max(CLASS_WINDOWS, Math.ceil(CLASS_MIN_PAIRS / Math.max(1, skus))));

export interface ClassChoice {
  default: ModelName;
  chosen: ClassModel;
  /** (SKU, window) pairs judged. */
  pairs: number;
  /** Mean RMSSE of the default and of the chosen model over those pairs. */
  defaultRmsse: number;
  chosenRmsse: number;
  /** Standard error of the mean paired difference (default - chosen). */
  se: number;
}

export interface ClassSelectionOptions {
  horizon: number;
  /** Holdout windows of `horizon` at the end of each history (default classWindows(SKUs of the class)). */
  windows?: number;
  seasonLength?: number;
  candidates?: readonly ModelName[];
  /** Sizes of the top-k mean combinations judged beside the single models (default COMBINATION_SIZES). */
  combinationSizes?: readonly number[];
  /** Also judge the default Ensemble grown by forward selection (default true). */
  growEnsemble?: boolean;
  selection?: Partial<SelectionOptions>;
}

export const CLASS_CANDIDATES: readonly ModelName[] = [...DEFAULT_CANDIDATES, 'Theta', 'HistoricAverage', 'Ensemble'];

/**
 * One (SKU, window) of a class: its M5 scale, actuals and every single candidate's forecast; `late`
 * = in the later half of the SKU's windows (the confirmation half).
 */
interface Pair { late: boolean; scale: number; actual: Float64Array; forecasts: Float64Array[] }

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const rmsseOf = (p: Pair, f: Float64Array): number => Math.sqrt(new ErrorSums().add(p.actual, f, 0).mse / p.scale);

/**
 * class-best's table: for each demand class, every single candidate is backtested on the last
 * `windows` windows of every SKU of the class and scored by RMSSE per (SKU, window); beside them,
 * the mean of the class's best k single models (k in combinationSizes, ranked on the earlier half
 * of the windows) and the default Ensemble's median grown by forward selection on that half.
 * pickNested: the candidate with the largest mean paired margin over the class default on the
 * earlier half replaces it only when that margin exceeds twice its standard error (at least 3
 * pairs) and it also beats the default on the later half: pooled over a class, one lucky SKU or
 * window does not move the choice. SKUs too short for the windows are left out.
 */
export function chooseClassModels(catalogue: Iterable<SeriesInput>, opts: ClassSelectionOptions): Record<DemandClass, ClassChoice> {
  const o: SelectionOptions = { ...DEFAULT_SELECTION, ...opts.selection };
  const h = opts.horizon;
  const all = [...catalogue];
  const candidates = opts.candidates ?? CLASS_CANDIDATES;
  // the default Ensemble is combined from its members' forecasts when they are candidates (no refit)
  const members = ENSEMBLE_MEMBERS.map((m) => candidates.indexOf(m));
  const reuse = members.every((k) => k >= 0);
  // a SKU's class as selectModel sees it (its whole history); a class with few SKUs gets more windows
  const classes = all.map((s) => classOf(demandStats(s.y), { cv2: o.cvSquaredThreshold }));
  const perClass = new Map<DemandClass, number>();
  for (const c of classes) perClass.set(c, (perClass.get(c) ?? 0) + 1);
  const pairs = new Map<DemandClass, Pair[]>();
  all.forEach((series, j) => {
    const cls = classes[j];
    const w = opts.windows ?? classWindows(perClass.get(cls)!);
    const n = series.y.length;
    const m = opts.seasonLength ?? defaultSeasonLength(series.freqDays);
    const firstCut = n - w * h;
    if (firstCut < Math.max(m, PROPHET_MIN_HISTORY)) return;
    let rows = pairs.get(cls);
    if (!rows) pairs.set(cls, (rows = []));
    const base: ModelParams = { seasonLength: m };
    for (let i = 0; i < w; i++) {
      const cut = firstCut + i * h;
      const scale = m5Scale(series.y, 2, cut);
      if (!(scale > 0)) continue;
      const train = { ...series, y: series.y.subarray(0, cut) };
      const forecasts: Float64Array[] = [];
      candidates.forEach((model, k) => {
        if (model !== 'Ensemble' || !reuse) forecasts[k] = predict(train, model, paramsFor(model, o, base), h);
      });
      candidates.forEach((model, k) => {
        if (model === 'Ensemble' && reuse) forecasts[k] = combineForecasts(members.map((j) => forecasts[j]), h, 'median');
      });
      rows.push({ late: i >= Math.floor(w / 2), scale, actual: series.y.slice(cut, cut + h), forecasts });
    }
  });
  const out = {} as Record<DemandClass, ClassChoice>;
  for (const cls of DEMAND_CLASSES) {
    const rows = pairs.get(cls) ?? [];
    const single = candidates.map((_, k) => rows.map((p) => rmsseOf(p, p.forecasts[k])));
    const early = rows.map((p, i) => (p.late ? -1 : i)).filter((i) => i >= 0);
    const late = rows.map((p, i) => (p.late ? i : -1)).filter((i) => i >= 0);
    const on = (r: number[], idx: number[]) => idx.map((i) => r[i]);
    const choices: ClassModel[] = [...candidates];
    const scores = [...single];
    // top-k combinations of the finite single models, ranked by mean RMSSE on the earlier half
    const ranked = candidates.map((_, k) => k)
      .filter((k) => candidates[k] !== 'Ensemble' && early.length > 0 && single[k].every(Number.isFinite))
      .sort((a, b) => mean(on(single[a], early)) - mean(on(single[b], early)));
    for (const size of opts.combinationSizes ?? COMBINATION_SIZES) {
      if (size < 2 || ranked.length < size) continue;
      const top = ranked.slice(0, size);
      choices.push({ members: top.map((k) => candidates[k]), combine: 'mean' });
      scores.push(rows.map((p) => rmsseOf(p, combineForecasts(top.map((k) => p.forecasts[k]), h, 'mean'))));
    }
    // the default Ensemble grown by forward selection on the earlier half (a median of more members)
    const medianOf = (ks: readonly number[]) => (p: Pair) => rmsseOf(p, combineForecasts(ks.map((k) => p.forecasts[k]), h, 'median'));
    const grown = opts.growEnsemble !== false && reuse && early.length ? growCombination(members, ranked, (ks) => mean(early.map((i) => medianOf(ks)(rows[i])))) : undefined;
    if (grown) {
      choices.push({ members: grown.map((k) => candidates[k]), combine: 'median' });
      scores.push(rows.map(medianOf(grown)));
    }
    out[cls] = pickNested(CLASS_DEFAULTS[cls], choices, scores, early, late);
  }
  return out;
}

/**
 * Forward selection (Caruana et al. 2004, without replacement) from the members `start`: while some
 * candidate of `pool` lowers `score` when added, the one that lowers it most is added. Returns the
 * grown set, or undefined when no candidate helps.
 */
export function growCombination(start: readonly number[], pool: readonly number[], score: (members: readonly number[]) => number): number[] | undefined {
  let current = [...start];
  let best = score(current);
  for (;;) {
    let next: number[] | undefined;
    for (const k of pool) {
      if (current.includes(k)) continue;
      const v = score([...current, k]);
      if (v < best) [best, next] = [v, [...current, k]];
    }
    if (!next) return current.length > start.length ? current : undefined;
    current = next;
  }
}

/** Standard error of the mean of xs (sample standard deviation over sqrt(n)). */
function standardError(xs: readonly number[]): number {
  const g = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - g) * (x - g), 0) / (xs.length - 1) / xs.length);
}

/**
 * Nested windows: the candidate is picked by pickWithGuard on the earlier half of every SKU's
 * windows and kept only if it also beats the default over the later half, which took no part in
 * picking it, by more than one standard error of that margin; else the default. The figures
 * reported are over all pairs.
 */
export function pickNested(dflt: ModelName, choices: readonly ClassModel[], scores: readonly number[][], early: readonly number[], late: readonly number[]): ClassChoice {
  const on = (r: readonly number[], idx: readonly number[]) => idx.map((i) => r[i]);
  const d = choices.indexOf(dflt);
  const base = d >= 0 ? scores[d] : [];
  const picked = pickWithGuard(dflt, choices, scores.map((r) => on(r, early)));
  const k = choices.indexOf(picked.chosen);
  // confirmed only by a margin above one standard error on the later half: a gain within noise there
  // (daily births' mean(Theta+Prophet+SeasonalNaive), margin 0.001 ± 0.009) keeps the default
  const lateDiffs = k === d ? [] : late.map((i) => base[i] - scores[k][i]);
  const confirmed = lateDiffs.length >= 2 && mean(lateDiffs) > standardError(lateDiffs);
  const pairs = base.length;
  const all = { default: dflt, pairs, defaultRmsse: pairs ? mean(base) : NaN };
  if (!confirmed) return { ...all, chosen: dflt, chosenRmsse: all.defaultRmsse, se: NaN };
  return { ...all, chosen: picked.chosen, chosenRmsse: mean(scores[k]), se: standardError(base.map((v, i) => v - scores[k][i])) };
}

/**
 * The choice among `choices` (per-pair scores, lower is better) with the largest mean margin over
 * the default, when that margin is above twice its standard error with at least 3 pairs; else the
 * default.
 */
export function pickWithGuard(dflt: ModelName, choices: readonly ClassModel[], scores: readonly number[][]): ClassChoice {
  const d = choices.indexOf(dflt);
  const base = d >= 0 ? scores[d] : [];
  const pairs = base.length;
  const choice: ClassChoice = { default: dflt, chosen: dflt, pairs, defaultRmsse: pairs ? mean(base) : NaN, chosenRmsse: NaN, se: NaN };
  choice.chosenRmsse = choice.defaultRmsse;
  if (pairs < 3 || !base.every(Number.isFinite)) return choice;
  let bestGain = 0;
  scores.forEach((r, k) => {
    if (k === d || r.some((v) => !Number.isFinite(v))) return;
    const diffs = r.map((v, i) => base[i] - v);
    const g = mean(diffs);
    const se = standardError(diffs);
    if (g > 2 * se && g > bestGain) {
      bestGain = g;
      Object.assign(choice, { chosen: choices[k], chosenRmsse: mean(r), se });
    }
  });
  return choice;
}
