import { ApplicationFailure } from '@temporalio/activity';
import { ConfigError } from '../config/schema';
import { CsvFormatError } from '../forecasting/long-csv';
import { ForecastInputError } from '../forecasting/types';

/** Input that is wrong now stays wrong on retry: such errors fail the activity at once. */
export class BadInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadInputError';
  }
}

const BAD_INPUT = [BadInputError, ConfigError, ForecastInputError, CsvFormatError];

export function asNonRetryable(err: unknown): unknown {
  if (BAD_INPUT.some((cls) => err instanceof cls)) {
    const e = err as Error;
    return ApplicationFailure.create({ type: e.name, message: e.message, nonRetryable: true, cause: e });
  }
  return err;
}

/** Wraps every function of an activity object so bad input fails fast instead of retrying forever. */
export function failFastOnBadInput<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    out[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw asNonRetryable(err);
      }
    };
  }
  return out as T;
}
