import type { Pool } from 'pg';
import type { ForecastCache } from '../cache/types';

/** What activities reach the outside world through; built once per worker process. */
export interface ActivityDeps {
  pool: Pool;
  cache: ForecastCache;
}
