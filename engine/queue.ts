// A FIFO lock: one logical bus operation at a time (docs/configuration.md). Urgent work (disarming
// the watchdog on exit) goes to the front of the line but still waits for the operation in progress.

export class BusQueue {
  private busy = false;
  private waiters: Array<() => void> = [];
  /** Operations that had to wait for the lock. */
  waits = 0;

  get length(): number {
    return this.waiters.length;
  }

  async run<T>(fn: () => Promise<T>, opts: { urgent?: boolean } = {}): Promise<T> {
    if (this.busy) {
      this.waits++;
      await new Promise<void>((resolve) => {
        if (opts.urgent) this.waiters.unshift(resolve);
        else this.waiters.push(resolve);
      });
    }
    this.busy = true;
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /**
   * `fn` at once when the bus is free, and its result without a promise when it gives one
   * without (a bus that answers at once); otherwise as `run`. The lock is held until a promise
   * `fn` returns has settled.
   */
  runNow<T>(fn: () => T | Promise<T>): T | Promise<T> {
    if (this.busy) return this.run(async () => fn());
    this.busy = true;
    let out: T | Promise<T>;
    try {
      out = fn();
    } catch (err) {
      this.release();
      throw err;
    }
    if (out instanceof Promise) return out.finally(() => this.release());
    this.release();
    return out;
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.busy = false;
  }
}
