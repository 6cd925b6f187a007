// Typed errors thrown by the engine. Their messages are the exact texts of docs/api.md;
// the API maps them to status codes, the CLI prints them.

/** A controller access that failed after all retries, or returned a value with no meaning. */
export class ControllerError extends Error {
  override name = 'ControllerError';
  constructor(
    message: string,
    readonly register: number,
    readonly op: 'read' | 'write' | 'decode',
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/** A firmware upload that failed (message as in docs/api.md). */
export class DfuError extends Error {
  override name = 'DfuError';
}
