import { ForecastInputError, MODEL_NAMES, type Model, type ModelName } from '../types';
import { ADIDA, IMAPA } from './adida';
import { CrostonClassic, CrostonOptimized, CrostonSBA } from './croston';
import { Ensemble, type Combine } from './ensemble';
import { HistoricAverage, Naive, SeasonalNaive } from './naive';
import { Prophet } from './prophet';
import { SES, SESOptimized } from './ses';
import { Theta } from './theta';
import { TSB } from './tsb';

export * from './adida';
export * from './croston';
export * from './ensemble';
export * from './naive';
export * from './ses';
export * from './theta';
export * from './tsb';
export { Prophet } from './prophet';

export interface ModelParams {
  /** SeasonalNaive, Theta and Prophet season length (default 7, daily data). */
  seasonLength?: number;
  /** SES and Croston (Classic/SBA) smoothing; defaults 0.1. */
  alpha?: number;
  /** TSB demand-size smoothing (TSB_ALPHA). */
  alphaD?: number;
  /** TSB demand-probability smoothing (TSB_BETA). */
  alphaP?: number;
  /** Ensemble members (default ENSEMBLE_MEMBERS) and how they are combined (default median). */
  members?: readonly ModelName[];
  combine?: Combine;
}

/** The default combination: see README "Forecast combination" for the measurements behind it. */
export const ENSEMBLE_MEMBERS: readonly ModelName[] = ['Prophet', 'SeasonalNaive', 'SESOptimized', 'CrostonSBA', 'IMAPA'];

export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

function checkUnit(sku: string, key: string, v: number | undefined): void {
  if (v !== undefined && !(v >= 0 && v <= 1)) throw new ForecastInputError(sku, `${key} must be between 0 and 1, got ${v}`);
}

/** The registry: one model instance per name and parameters. */
export function createModel(name: ModelName, params: ModelParams = {}, sku = '-'): Model {
  checkUnit(sku, 'alpha', params.alpha);
  checkUnit(sku, 'alphaD', params.alphaD);
  checkUnit(sku, 'alphaP', params.alphaP);
  const m = params.seasonLength;
  if (m !== undefined && !(Number.isInteger(m) && m >= 1)) throw new ForecastInputError(sku, `seasonLength must be a positive integer, got ${m}`);
  switch (name) {
    case 'Naive': return new Naive();
    case 'SeasonalNaive': return new SeasonalNaive(m ?? 7);
    case 'SES': return new SES(params.alpha ?? 0.1);
    case 'SESOptimized': return new SESOptimized();
    case 'CrostonClassic': return new CrostonClassic(params.alpha);
    case 'CrostonSBA': return new CrostonSBA(params.alpha);
    case 'CrostonOptimized': return new CrostonOptimized();
    case 'TSB': return new TSB(params.alphaD, params.alphaP);
    case 'ADIDA': return new ADIDA();
    case 'IMAPA': return new IMAPA();
    case 'Theta': return new Theta(m ?? 7);
    case 'HistoricAverage': return new HistoricAverage();
    case 'Prophet': return new Prophet({ seasonLength: m });
    case 'Ensemble': {
      const members = params.members ?? ENSEMBLE_MEMBERS;
      if (members.length === 0 || members.includes('Ensemble')) throw new ForecastInputError(sku, `Ensemble members must be other models, got [${members.join(', ')}]`);
      const combine = params.combine ?? 'median';
      if (combine !== 'mean' && combine !== 'median') throw new ForecastInputError(sku, `combine must be mean or median, got ${String(combine)}`);
      return new Ensemble('Ensemble', members.map((n) => createModel(n, { ...params, members: undefined }, sku)), combine);
    }
    default:
      throw new ForecastInputError(sku, `unknown model "${String(name)}" (known: ${MODEL_NAMES.join(', ')})`);
  }
}
