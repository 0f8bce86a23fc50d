import { log } from '@temporalio/activity';
import { getEnvironmentConfig, restoreConfig, setConfig, snapshotOverrides, type ConfigChange, type RestoreConflict } from '../db/config-store';
import { appMetrics } from '../ops/metrics';
import type { ConfigValue, ForecastConfig } from '../config/schema';
import type { ActivityDeps } from './deps';

export function createConfigActivities({ pool }: ActivityDeps) {
  return {
    /** Effective config of an environment, read fresh each call so a change applies mid-run. */
    async getConfig(environment: string): Promise<ForecastConfig> {
      return getEnvironmentConfig(pool, environment);
    },
    async applyConfig(input: {
      environment: string;
      changes: Record<string, ConfigValue | null>;
      actor: string;
      reason?: string;
    }): Promise<ConfigChange[]> {
      return setConfig(pool, input.environment, input.changes, input.actor, input.reason);
    },
    /**
     * Restores a snapshot only where the keys still hold what the release wrote (compare-and-set);
     * a key someone else changed since is left as it is, counted and logged as an alert.
     */
    async restoreConfig(input: {
      environment: string;
      snapshot: Record<string, ConfigValue | null>;
      expected: Record<string, ConfigValue | null>;
      actor: string;
      reason?: string;
    }): Promise<{ restored: ConfigChange[]; conflicts: RestoreConflict[] }> {
      const out = await restoreConfig(pool, input.environment, input.snapshot, input.expected, input.actor, input.reason);
      for (const c of out.conflicts) {
        appMetrics.restoreConflicts.inc({ environment: c.environment });
        log.warn(
          `restore conflict: ${c.key} in ${c.environment} holds ${JSON.stringify(c.live)} (version ${c.version} by ${c.changedBy ?? '?'} at ${c.changedAt ?? '?'}), ` +
            `not ${JSON.stringify(c.wrote)} as written by the release; left as it is instead of restoring ${JSON.stringify(c.snapshot)} (${input.actor})`,
        );
      }
      return out;
    },
    async snapshotConfig(input: { environment: string; keys: string[] }): Promise<Record<string, ConfigValue | null>> {
      return snapshotOverrides(pool, input.environment, input.keys);
    },
  };
}
