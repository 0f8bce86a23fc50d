/**
 * Demand classification (Syntetos-Boylan-Croston): ADI = mean inter-demand interval, CV² =
 * squared coefficient of variation of the non-zero demand sizes.
 */
export type DemandClass = 'smooth' | 'erratic' | 'intermittent' | 'lumpy';
export const DEMAND_CLASSES: readonly DemandClass[] = ['smooth', 'erratic', 'intermittent', 'lumpy'];

export const ADI_CUTOFF = 1.32;
export const CV2_CUTOFF = 0.49;

export interface DemandStats {
  n: number;
  /** Periods with non-zero demand. */
  nonZero: number;
  /** Share of periods with zero demand. */
  zeroRatio: number;
  /**
   * Mean interval between demands, the first counted from before the start (the definition
   * Croston and ADIDA use); trailing zeros do not count. Infinity without demand.
   */
  adi: number;
  /** CV² of the non-zero sizes (population variance / mean²); 0 without demand. */
  cv2: number;
  /** CV² of the whole series, zeros included (np.std / np.mean, squared); the plan's rule. */
  cv2Series: number;
  /** Mean of the whole series. */
  mean: number;
}

/** Two passes (mean, then squared deviations) like numpy, no allocation. */
export function demandStats(y: Float64Array): DemandStats {
  const n = y.length;
  let k = 0, last = -1, sum = 0;
  for (let i = 0; i < n; i++) {
    if (y[i] !== 0) {
      k++;
      last = i;
      sum += y[i];
    }
  }
  const meanNz = k > 0 ? sum / k : 0;
  const mean = n > 0 ? sum / n : 0;
  let ssNz = 0, ssAll = 0;
  for (let i = 0; i < n; i++) {
    const d = y[i] - mean;
    ssAll += d * d;
    if (y[i] !== 0) {
      const e = y[i] - meanNz;
      ssNz += e * e;
    }
  }
  return {
    n,
    nonZero: k,
    zeroRatio: n > 0 ? (n - k) / n : 1,
    adi: k > 0 ? (last + 1) / k : Infinity,
    cv2: k > 0 ? ssNz / k / (meanNz * meanNz) : 0,
    cv2Series: mean > 0 ? ssAll / n / (mean * mean) : 0,
    mean,
  };
}

export interface ClassCutoffs {
  adi?: number;
  cv2?: number;
}

export function classOf(stats: DemandStats, cutoffs: ClassCutoffs = {}): DemandClass {
  const adiCut = cutoffs.adi ?? ADI_CUTOFF;
  const cv2Cut = cutoffs.cv2 ?? CV2_CUTOFF;
  const frequent = stats.adi < adiCut; // no demand: ADI = Infinity -> intermittent
  const variable = stats.cv2 >= cv2Cut;
  if (frequent) return variable ? 'erratic' : 'smooth';
  return variable ? 'lumpy' : 'intermittent';
}

export function classifyDemand(y: Float64Array, cutoffs?: ClassCutoffs): DemandClass {
  return classOf(demandStats(y), cutoffs);
}
