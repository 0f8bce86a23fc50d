import { getEnvironmentConfig, setConfig, snapshotOverrides, type ConfigChange } from '../db/config-store';
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
    async snapshotConfig(input: { environment: string; keys: string[] }): Promise<Record<string, ConfigValue | null>> {
      return snapshotOverrides(pool, input.environment, input.keys);
    },
  };
}
