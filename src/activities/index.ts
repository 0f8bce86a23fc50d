import { createCacheActivities } from './cache';
import { createConfigActivities } from './config';
import type { ActivityDeps } from './deps';
import { failFastOnBadInput } from './errors';
import { createForecastActivities } from './forecast';
import { createOpsActivities } from './ops';
import { createRevertActivities } from './revert';
import { createRolloutActivities } from './rollout';

/** Every activity the worker registers; workflows import only this type. */
export function createActivities(deps: ActivityDeps) {
  return failFastOnBadInput({
    ...createConfigActivities(deps),
    ...createForecastActivities(deps),
    ...createCacheActivities(deps),
    ...createRolloutActivities(deps),
    ...createRevertActivities(deps),
    ...createOpsActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './deps';
