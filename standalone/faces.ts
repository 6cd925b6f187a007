// An optional face (the web listener, the NUT server) that cannot start — its port taken, its
// address not available — never stops the daemon: the failure is logged, retried with back-off,
// and reported in /metrics and `halpi status`, while the supervisor runs on (docs/configuration.md,
// "Faces"). Only the Unix socket, the API itself, may stop start-up.

import type { FaceStatus } from '../engine/api/metrics.js';
import type { Logger } from '../engine/log.js';

/** Seconds between attempts; the last one repeats. */
export const BACKOFF_S = [1, 2, 5, 10, 30];

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class Face<T extends { close(): Promise<void> }> {
  private current: T | null = null;
  private error: string | null = null;
  private attempts = 0;
  private timer: unknown = null;
  private stopped = false;

  constructor(
    /** `web`, `nut`: the label in /metrics. */
    readonly name: string,
    /** Its words in the log: "the web listener". */
    private readonly title: string,
    readonly address: string,
    private readonly start: () => Promise<T>,
    private readonly logger: Logger,
    private readonly timers: Timers = realTimers,
  ) {}

  get running(): T | null {
    return this.current;
  }

  get status(): FaceStatus {
    return { face: this.name, address: this.address, up: this.current !== null, error: this.error };
  }

  /** Already started by the caller (a reload tries the new address once before giving up the old one). */
  adopt(running: T): this {
    this.current = running;
    return this;
  }

  /** An attempt; resolves either way (a failure schedules the next one). */
  async begin(): Promise<void> {
    try {
      const started = await this.start();
      if (this.stopped) return void started.close().catch(() => {});
      this.current = started;
      this.error = null;
      this.attempts = 0;
    } catch (err) {
      if (this.stopped) return;
      const message = (err as Error).message;
      const delay = BACKOFF_S[Math.min(this.attempts, BACKOFF_S.length - 1)]!;
      // Once per distinct reason: a port taken for hours is one line, not one every 30 s.
      if (message !== this.error)
        this.logger.error(`Cannot start ${this.title} on ${this.address}: ${message}; retrying (next in ${delay} s)`);
      this.error = message;
      this.attempts++;
      this.timer = this.timers.setTimeout(() => {
        this.timer = null;
        if (!this.stopped) void this.begin();
      }, delay * 1000);
    }
  }

  /** No more attempts; hands back what is running (for the caller to close). */
  stop(): T | null {
    this.stopped = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    const running = this.current;
    this.current = null;
    return running;
  }
}
