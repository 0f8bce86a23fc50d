import { NotBuiltError } from '../not-built';

export async function forecastRunCommand(..._args: unknown[]): Promise<void> {
  throw new NotBuiltError('forecast run');
}

