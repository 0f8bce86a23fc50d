// The workflow bundle's entry point: every workflow type the worker serves.
export { forecastRun, cachePreload } from './forecast-run';
export { prefetch, postDeployPrefetch } from './prefetch';
export { rollout } from './rollout';
export { releaseRevert } from './release-revert';
export { backtest } from './backtest';
export { dailySnapshot } from './daily-snapshot';
