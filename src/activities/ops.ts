import { parseEnvironment } from '../config/schema';
import { addDays } from '../db/forecasts';
import { loadDailySnapshot, saveDailySnapshot } from '../db/ops';
import { renderSnapshotMarkdown } from '../ops/snapshot';
import type { ActivityDeps } from './deps';
import { BadInputError } from './errors';

/** Activities of the dailySnapshot workflow. */

export interface DailySnapshotResult {
  environment: string;
  day: string;
  score: number | null;
  grade: string;
  incidents: number;
  runs: number;
  releasesInFlight: number;
}

export function checkDay(day: unknown): string {
  if (typeof day !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(day) || addDays(day, 0) !== day) {
    throw new BadInputError(`day: ${JSON.stringify(day)} refused: must be a date YYYY-MM-DD`);
  }
  return day;
}

export function createOpsActivities({ pool }: ActivityDeps) {
  return {
    /** Measures one environment's UTC day from what is recorded and stores it (data + markdown); a rerun overwrites. */
    async writeDailySnapshot(input: { environment: string; day: string }): Promise<DailySnapshotResult> {
      const environment = parseEnvironment(input.environment);
      const day = checkDay(input.day);
      const s = await loadDailySnapshot(pool, environment, day);
      await saveDailySnapshot(pool, s, renderSnapshotMarkdown(s));
      return {
        environment,
        day,
        score: s.stability.score,
        grade: s.stability.grade,
        incidents: s.stability.incidents.length,
        runs: s.runs.length,
        releasesInFlight: s.releasesInFlight.length,
      };
    },
  };
}
