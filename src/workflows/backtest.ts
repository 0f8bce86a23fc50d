import { ApplicationFailure, continueAsNew, isCancellation, patched, proxyActivities, setHandler, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BacktestBatchResult, ChosenClassTable, OutlierSku, PreparedBacktest } from '../activities/forecast';
import { mergeCounts } from '../forecasting/counts';
import { BATCH_HEARTBEAT_TIMEOUT, batchActivities, prepareFailure, runBatchLanes } from './batches';
import { backtestProgressQuery, type BacktestProgress } from './messages';
import { ENVIRONMENT, RUN_DATE, STATUS } from './search-attributes';

/**
 * Rolling-origin backtest of the catalogue's database histories, batch by batch (one activity per
 * batch), storing per-SKU accuracy in sku_accuracy and returning the catalogue summary. Started by
 * `neuro backtest --env E`, and by forecastRun as its accuracy step (accuracyRunId = the run's id).
 */

export interface BacktestInput {
  environment: string;
  /** Histories up to the day before this date (YYYY-MM-DD); default the workflow's start date, UTC. */
  runDate?: string;
  horizon?: number;
  windows?: number;
  step?: number;
  policy?: string;
  model?: string;
  outlierThreshold?: number;
  batchSize?: number;
  skus?: string[];
  /** Shadow A/B: also backtest this challenger (model or policy) on the same windows. */
  shadow?: string;
  /** Store the accuracy rows under this run id (default: this workflow's id). */
  accuracyRunId?: string;
  maxParallel?: number;
  /** Batches per workflow execution before continue-as-new (bounds the history). */
  batchesPerExecution?: number;
}

export interface BacktestResult {
  backtestId: string;
  accuracyRunId: string;
  environment: string;
  runDate: string;
  skus: number;
  /** SKUs too short to backtest (no accuracy row). */
  skipped: number;
  batches: number;
  horizon: number;
  windows: number;
  /** Mean of per-SKU MAPE (percent), as the plan reports it; null when undefined. */
  mape: number | null;
  /** Pooled: sum |error| / sum |actual| over every SKU and window (percent). */
  wape: number | null;
  mase: number | null;
  outlierThreshold: number;
  outlierCount: number;
  /** Worst outliers first (at most 20). */
  outlierSkus: string[];
  outliers: OutlierSku[];
  modelCounts: Record<string, number>;
  durationMs: number;
  /** class-best: the class table the batches scored (the environment's latest before this one; none: defaults). */
  classTableId?: string;
  /** class-best: the table this backtest chose and stored for the next forecast runs. */
  classTable?: ChosenClassTable;
}

interface Carried {
  prepared: PreparedBacktest;
  nextBatch: number;
  startedAtMs: number;
  totals: BacktestBatchResult;
}

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
});

/** Choosing the class table fits every candidate on a few thousand SKUs: minutes, not seconds. */
const tableActs = proxyActivities<Activities>({
  startToCloseTimeout: '15 minutes',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 3 },
});

function emptyTotals(): BacktestBatchResult {
  return {
    batchIndex: -1, skus: 0, skipped: 0, mapeSum: 0, mapeCount: 0, maseSum: 0, maseCount: 0,
    sumAbsErr: 0, sumAbsActual: 0, outlierCount: 0, outliers: [], modelCounts: {}, durationMs: 0,
  };
}

function merge(t: BacktestBatchResult, b: BacktestBatchResult): void {
  t.skus += b.skus;
  t.skipped += b.skipped;
  t.mapeSum += b.mapeSum;
  t.mapeCount += b.mapeCount;
  t.maseSum += b.maseSum;
  t.maseCount += b.maseCount;
  t.sumAbsErr += b.sumAbsErr;
  t.sumAbsActual += b.sumAbsActual;
  t.outlierCount += b.outlierCount;
  t.outliers = [...t.outliers, ...b.outliers].sort((x, y) => y.mape - x.mape).slice(0, 20);
  mergeCounts(t.modelCounts, b.modelCounts);
  t.durationMs += b.durationMs;
}

/** The catalogue figures from the merged batch sums. */
function summary(backtestId: string, accuracyRunId: string, p: PreparedBacktest, totals: BacktestBatchResult, durationMs: number): BacktestResult {
  return {
    backtestId,
    accuracyRunId,
    environment: p.environment,
    runDate: p.runDate,
    skus: totals.skus,
    skipped: totals.skipped,
    batches: p.batches,
    horizon: p.horizon,
    windows: p.windows,
    mape: totals.mapeCount ? totals.mapeSum / totals.mapeCount : null,
    wape: totals.sumAbsActual > 0 ? (100 * totals.sumAbsErr) / totals.sumAbsActual : null,
    mase: totals.maseCount ? totals.maseSum / totals.maseCount : null,
    outlierThreshold: p.outlierThreshold,
    outlierCount: totals.outlierCount,
    outlierSkus: totals.outliers.map((o) => o.sku),
    outliers: totals.outliers,
    modelCounts: totals.modelCounts,
    durationMs,
  };
}

export async function backtest(input: BacktestInput, carried?: Carried): Promise<BacktestResult> {
  if (!input || typeof input.environment !== 'string') {
    throw ApplicationFailure.nonRetryable('input: { environment: "staging" | "production", ... } is required', 'BadInputError');
  }
  const info = workflowInfo();
  const backtestId = info.workflowId;
  const runDate = carried?.prepared.runDate ?? input.runDate ?? info.startTime.toISOString().slice(0, 10);
  let status: BacktestProgress['status'] = carried ? 'running' : 'listing';
  let prepared = carried?.prepared;
  const totals = carried?.totals ?? emptyTotals();
  let batchesDone = carried?.nextBatch ?? 0;
  let nextBatch = batchesDone;

  setHandler(backtestProgressQuery, () => ({
    backtestId,
    environment: input.environment,
    status,
    skusTotal: prepared?.skus ?? 0,
    skusDone: totals.skus + totals.skipped,
    batchesTotal: prepared?.batches ?? 0,
    batchesDone,
  }));
  upsertSearchAttributes([
    { key: ENVIRONMENT, value: input.environment },
    { key: RUN_DATE, value: runDate },
    { key: STATUS, value: 'running' },
  ]);

  let p: PreparedBacktest;
  let classTable: ChosenClassTable | undefined;
  try {
    p = prepared ?? await acts.prepareBacktest({
      backtestId,
      environment: input.environment,
      runDate,
      batchSize: input.batchSize,
      horizon: input.horizon,
      windows: input.windows,
      step: input.step,
      policy: input.policy,
      model: input.model,
      outlierThreshold: input.outlierThreshold,
      skus: input.skus,
      ...(input.shadow !== undefined ? { shadow: input.shadow } : {}),
    });
    prepared = p;
    status = 'running';
    upsertMemo({ skus: p.skus, batches: p.batches, horizon: p.horizon, windows: p.windows, policy: p.model ?? p.selection.policy });

    const batchActs = batchActivities(BATCH_HEARTBEAT_TIMEOUT.backtest);
    nextBatch = await runBatchLanes({
      from: nextBatch,
      total: p.batches,
      maxParallel: input.maxParallel ?? 1,
      batchesPerExecution: input.batchesPerExecution,
      run: async (batchIndex) => {
        const r = await batchActs.named(`backtest batch ${batchIndex + 1}/${p.batches}`).backtestBatch({
          backtestId,
          accuracyRunId: input.accuracyRunId ?? backtestId,
          environment: p.environment,
          runDate: p.runDate,
          batchIndex,
          horizon: p.horizon,
          windows: p.windows,
          step: p.step,
          model: p.model,
          selection: p.selection,
          outlierThreshold: p.outlierThreshold,
          ...(p.shadow ? { shadow: p.shadow } : {}),
        });
        merge(totals, r);
        batchesDone++;
      },
    });
    // class-best: the table for the next forecast runs, chosen once every batch is scored
    if (nextBatch >= p.batches && !p.model && p.selection.policy === 'class-best' && patched('backtest-class-table')) {
      classTable = await tableActs.chooseClassTable({
        backtestId, environment: p.environment, runDate: p.runDate, horizon: p.horizon, skus: p.skus, batches: p.batches, selection: p.selection,
      });
    }
  } catch (err) {
    status = 'failed';
    upsertSearchAttributes([{ key: STATUS, value: 'failed' }]);
    if (prepared || isCancellation(err)) throw err;
    throw prepareFailure(err);
  }

  const startedAtMs = carried?.startedAtMs ?? info.startTime.getTime();
  if (nextBatch < p.batches) {
    // History bound: a fresh execution carries only the running totals on.
    await continueAsNew<typeof backtest>(input, { prepared: p, nextBatch, startedAtMs, totals });
  }
  const result: BacktestResult = {
    ...summary(backtestId, input.accuracyRunId ?? backtestId, p, totals, Date.now() - startedAtMs),
    ...(p.classTableId ? { classTableId: p.classTableId } : {}),
    ...(classTable ? { classTable } : {}),
  };
  status = 'completed';
  upsertSearchAttributes([{ key: STATUS, value: 'completed' }]);
  upsertMemo({ mape: result.mape, wape: result.wape, outlierCount: result.outlierCount });
  return result;
}
