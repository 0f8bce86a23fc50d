import { createMemoryCache } from './memory';
import { createRedisCache } from './redis';
import type { ForecastCache } from './types';

export type { CacheEntry, ForecastCache } from './types';
export { createMemoryCache } from './memory';
export { createRedisCache, CacheUnavailableError } from './redis';
export {
  ForecastReader,
  forecastKey,
  readForecasts,
  warmKeys,
  MAX_HORIZON,
  type CachedForecast,
  type ForecastPoint,
  type ReadResult,
} from './forecasts';
export { preloadRun, runPrefetch, recordSkippedPrefetch, type PrefetchOutcome, type PrefetchTrigger } from './prefetch';
export { hitRate, peakWindows, inPeakWindow, CacheStatsRecorder, type HitRate } from './stats';
export { QueryLogWriter } from './query-log';
export { rankedQueries, topQueries, type TopQuery } from '../db/query-log';

/** Redis when a URL is given (and reachable), the in-process memory cache otherwise. */
export async function createCache(redisUrl: string | undefined, opts: { log: (line: string) => void }): Promise<ForecastCache> {
  return redisUrl ? createRedisCache(redisUrl, { log: opts.log }) : createMemoryCache();
}
