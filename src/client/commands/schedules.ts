import { NotBuiltError } from '../not-built';

export async function schedulesApply(..._args: unknown[]): Promise<void> {
  throw new NotBuiltError('schedules apply');
}

export async function schedulesList(..._args: unknown[]): Promise<void> {
  throw new NotBuiltError('schedules list');
}

