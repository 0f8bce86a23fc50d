/**
 * The shadow A/B's comparison, pure (unit-tested in test/unit/shadow.test.ts): champion (what serves)
 * and challenger backtested on the same windows of the same SKUs, summed per demand class and
 * overall with the plan's figures — MAPE as the plan reports it (mean of per-SKU MAPE), WAPE, RMSSE,
 * outlier count (MAPE > OUTLIER_MAPE_THRESHOLD) and the outliers' average MAPE; and, where actuals
 * for earlier forecast dates have arrived, the realised errors of both. Pure types only: the
 * workflow bundle imports this file.
 */

export interface ShadowSide {
  model: string;
  mape: number | null;
  rmsse: number | null;
  absErr: number;
}

/** One SKU in one cycle's backtest. */
export interface ShadowRow {
  sku: string;
  demandClass: string | null;
  champion: ShadowSide;
  challenger: ShadowSide;
  /** Sum of actuals over the windows (the same for both). */
  actual: number;
}

export interface PolicyFigures {
  skus: number;
  mape: number | null;
  wape: number | null;
  rmsse: number | null;
  outlierCount: number;
  outlierMape: number | null;
}

/** Realised: forecasts of earlier cycles against the actuals imported since, per SKU and day. */
export interface RealisedRow {
  sku: string;
  demandClass: string | null;
  days: number;
  actual: number;
  /** Sums of |f - y| and of |f - y| / y over days with y > 0 (and how many such days). */
  champion: { absErr: number; apeSum: number; apeDays: number };
  challenger: { absErr: number; apeSum: number; apeDays: number };
}

export interface RealisedFigures {
  skus: number;
  days: number;
  champion: { wape: number | null; mape: number | null };
  challenger: { wape: number | null; mape: number | null };
}

export interface ShadowComparison {
  champion: string;
  challenger: string;
  /** Forecast cycles whose backtests are compared. */
  cycles: number;
  overall: { champion: PolicyFigures; challenger: PolicyFigures };
  byClass: Record<string, { champion: PolicyFigures; challenger: PolicyFigures }>;
  /** Present once actuals for an earlier cycle's forecast dates have arrived. */
  realised?: RealisedFigures;
}

const mean = (xs: number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const finite = (x: number | null): x is number => x !== null && Number.isFinite(x);

export function figures(rows: ShadowRow[], side: 'champion' | 'challenger', outlierThreshold: number): PolicyFigures {
  const mapes = rows.map((r) => r[side].mape).filter(finite);
  const outliers = mapes.filter((m) => m > outlierThreshold);
  const actual = rows.reduce((a, r) => a + r.actual, 0);
  return {
    skus: rows.length,
    mape: mean(mapes),
    wape: actual > 0 ? (100 * rows.reduce((a, r) => a + r[side].absErr, 0)) / actual : null,
    rmsse: mean(rows.map((r) => r[side].rmsse).filter(finite)),
    outlierCount: outliers.length,
    outlierMape: mean(outliers),
  };
}

export function realisedFigures(rows: RealisedRow[]): RealisedFigures {
  const actual = rows.reduce((a, r) => a + r.actual, 0);
  const side = (s: 'champion' | 'challenger') => {
    const apeDays = rows.reduce((a, r) => a + r[s].apeDays, 0);
    return {
      wape: actual > 0 ? (100 * rows.reduce((a, r) => a + r[s].absErr, 0)) / actual : null,
      mape: apeDays > 0 ? (100 * rows.reduce((a, r) => a + r[s].apeSum, 0)) / apeDays : null,
    };
  };
  return { skus: new Set(rows.map((r) => r.sku)).size, days: rows.reduce((a, r) => a + r.days, 0), champion: side('champion'), challenger: side('challenger') };
}

export function compareShadow(
  rows: ShadowRow[],
  o: { champion: string; challenger: string; cycles: number; outlierThreshold: number; realised?: RealisedRow[] },
): ShadowComparison {
  const both = (rs: ShadowRow[]) => ({ champion: figures(rs, 'champion', o.outlierThreshold), challenger: figures(rs, 'challenger', o.outlierThreshold) });
  const classes = [...new Set(rows.map((r) => r.demandClass ?? 'unknown'))].sort();
  const out: ShadowComparison = {
    champion: o.champion,
    challenger: o.challenger,
    cycles: o.cycles,
    overall: both(rows),
    byClass: Object.fromEntries(classes.map((c) => [c, both(rows.filter((r) => (r.demandClass ?? 'unknown') === c))])),
  };
  if (o.realised?.length) out.realised = realisedFigures(o.realised);
  return out;
}
