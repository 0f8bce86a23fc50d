/**
 * Every workflow id, built in one place (pure: workflows import it for their children, clients for
 * their starts). Ids are public: the Web UI, `temporal workflow show --workflow-id` and the
 * idempotency of the deploy hook and of rollouts depend on them.
 */

/** forecast-<env>-<runDate>-<suffix> (suffix: 8 random hex chars from the starter). */
export const forecastRunId = (environment: string, runDate: string, suffix: string) => `forecast-${environment}-${runDate}-${suffix}`;
export const backtestId = (environment: string, runDate: string, suffix: string) => `backtest-${environment}-${runDate}-${suffix}`;
/** A forecast run's children: its cache preload and its accuracy backtest. */
export const preloadChildId = (runId: string) => `${runId}-preload`;
export const backtestChildId = (runId: string) => `${runId}-backtest`;

/** One rollout per release: a second start of the same release is refused. */
export const rolloutWorkflowId = (release: string) => `rollout-${release}`;
/** A rollout's forecast cycle (`validation-cycle-2`, `baseline-cycle-1`, `monitor-cycle-1`) and its prefetch. */
export const rolloutCycleId = (rolloutId: string, environment: string, label: string) => `${rolloutId}-${environment}-${label}`;
export const cyclePrefetchId = (cycleId: string) => `${cycleId}-prefetch`;
export const rolloutPostDeployId = (rolloutId: string) => `${rolloutId}-post-deploy-prefetch`;

/** One post-deploy prefetch per deploy id: the hook derives the workflow id from it. */
export const postDeployWorkflowId = (environment: string, deployId: string) => `post-deploy-prefetch-${environment}-${deployId}`;
export const postDeployPrefetchChildId = (postDeployId: string) => `${postDeployId}-prefetch`;
/** A manual or scheduled prefetch, by its start time. */
export const prefetchWorkflowId = (environment: string, trigger: string, at: Date) => `prefetch-${environment}-${trigger}-${at.toISOString().replace(/[:.]/g, '-')}`;
/** One revert of a release at a time; a refused one may be tried again under the same id. */
export const releaseRevertId = (release: string) => `release-revert-${release}`;
