// Typed errors thrown by the engine. Their messages are the exact texts of docs/api.md;
// the API maps them to status codes, the CLI prints them.

import { hex2 } from './registers.js';

/**
 * A controller access that failed after all retries, or returned a value with no meaning
 * (`decode`), or a measurement no sensor gives (`implausible`: a full-scale reading, the mark of
 * a corrupted transfer).
 */
export class ControllerError extends Error {
  override name = 'ControllerError';
  constructor(
    message: string,
    readonly register: number,
    readonly op: 'read' | 'write' | 'decode' | 'implausible',
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/** A firmware upload that failed (message as in docs/api.md). */
export class DfuError extends Error {
  override name = 'DfuError';
}

/**
 * An error's text on the HTTP API. An implausible reading is answered exactly as halpid 5.0.2
 * answers a failed read of that register, so clients see the error they know, never the value;
 * the log and the event stream keep the clearer message.
 */
export function apiErrorText(err: unknown): string {
  if (err instanceof ControllerError && err.op === 'implausible')
    return `Failed to read from register ${hex2(err.register)}`;
  return err instanceof Error ? err.message : String(err);
}
