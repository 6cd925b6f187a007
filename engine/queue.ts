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
      const next = this.waiters.shift();
      if (next) next();
      else this.busy = false;
    }
  }
}
