import { proxyActivities, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DailySnapshotResult } from '../activities/ops';
import type { Environment } from '../rollout/types';
import { ENVIRONMENT, RUN_DATE, STATUS } from './search-attributes';

/**
 * `dailySnapshot`: the plan's PROD_DAILY_SNAPSHOTS.md as a workflow. Schedule `daily-snapshot`
 * starts it at 03:00 UTC; it writes the previous UTC day's snapshot (run duration, peak memory,
 * MAPE, outliers, hit rates, peak-hour misses, prefetches, stability score, incidents, releases
 * in flight) per environment to PostgreSQL. `neuro report daily` renders a stored one.
 */

export interface DailySnapshotInput {
  /** One environment; default both. */
  environment?: Environment;
  /** YYYY-MM-DD (UTC); default the day before the workflow started. */
  day?: string;
}

const ALL: Environment[] = ['staging', 'production'];
const DAY_MS = 86_400_000;

export async function dailySnapshot(input: DailySnapshotInput = {}): Promise<DailySnapshotResult[]> {
  // Workflow time: the start time, stable on replay.
  const day = input.day ?? new Date(workflowInfo().startTime.getTime() - DAY_MS).toISOString().slice(0, 10);
  const environments = input.environment ? [input.environment] : ALL;
  upsertSearchAttributes([
    { key: RUN_DATE, value: day },
    { key: STATUS, value: 'running' },
    ...(input.environment ? [{ key: ENVIRONMENT, value: input.environment }] : []),
  ]);
  const out: DailySnapshotResult[] = [];
  for (const environment of environments) {
    setCurrentDetails(`writing the ${environment} snapshot of ${day} (${out.length + 1}/${environments.length})`);
    const { writeDailySnapshot } = proxyActivities<Activities>({
      startToCloseTimeout: '2 minutes',
      retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
      summary: `snapshot ${environment} ${day}`,
    });
    out.push(await writeDailySnapshot({ environment, day }));
  }
  upsertSearchAttributes([{ key: STATUS, value: 'completed' }]);
  setCurrentDetails(out.map((r) => `${r.environment} ${r.day}: ${r.score === null ? 'no data' : `${r.score}/100 (${r.grade})`}, ${r.incidents} incidents`).join('; '));
  return out;
}
