import { NotBuiltError } from '../not-built';

export async function rolloutStart(..._args: unknown[]): Promise<void> {
  throw new NotBuiltError('rollout start');
}

export async function rolloutStatus(..._args: unknown[]): Promise<void> {
  throw new NotBuiltError('rollout status');
}

export async function rolloutApprove(..._args: unknown[]): Promise<void> {
  throw new NotBuiltError('rollout approve');
}

export async function rolloutGo(..._args: unknown[]): Promise<void> {
  throw new NotBuiltError('rollout go');
}

export async function rolloutNoGo(..._args: unknown[]): Promise<void> {
  throw new NotBuiltError('rollout no-go');
}

export async function rolloutRollback(..._args: unknown[]): Promise<void> {
  throw new NotBuiltError('rollout rollback');
}

