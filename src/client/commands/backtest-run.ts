import { NotBuiltError } from '../not-built';

export async function backtestWorkflowCommand(..._args: unknown[]): Promise<void> {
  throw new NotBuiltError('backtest');
}

