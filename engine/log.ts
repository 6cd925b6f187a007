// The operational log seen by the engine: one-line messages at three levels. The face decides
// where they go (stdout/journald for halpid, the server log for the Signal K plugin).

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** Numbers in log lines: fixed decimals, rounded half to even (docs/configuration.md). */
export function fixedHalfEven(x: number, decimals: number): string {
  const factor = 10 ** decimals;
  const scaled = x * factor;
  let rounded = Math.round(scaled);
  // Math.round rounds .5 up; pull exact halves to the even neighbour.
  if (Math.abs(scaled % 1) === 0.5 && rounded % 2 !== 0) rounded -= 1;
  return (rounded / factor).toFixed(decimals);
}

/** Logs a repeating failure the first time, then at most once per interval with a count. */
export class RepeatLimiter {
  private last: string | null = null;
  private lastLoggedAt = -Infinity;
  private suppressed = 0;

  constructor(private readonly intervalMs = 10_000) {}

  /** Returns the line to log now, or null to stay quiet. */
  next(message: string, now: number): string | null {
    if (message !== this.last) {
      this.last = message;
      this.lastLoggedAt = now;
      this.suppressed = 0;
      return message;
    }
    this.suppressed++;
    if (now - this.lastLoggedAt < this.intervalMs) return null;
    const line = `${message} (repeated ${this.suppressed} times)`;
    this.lastLoggedAt = now;
    this.suppressed = 0;
    return line;
  }

  reset(): void {
    this.last = null;
    this.suppressed = 0;
  }
}
