/** Thrown by a command whose implementation has not landed yet; the CLI exits 2 with this message. */
export class NotBuiltError extends Error {
  constructor(command: string) {
    super(`neuro ${command}: not built yet`);
    this.name = 'NotBuiltError';
  }
}
