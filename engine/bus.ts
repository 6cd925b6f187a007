// The Bus seam: the two transaction shapes the HALPI2 controller understands (docs/controller.md).
// The Linux adapter and the simulator both implement it, so every byte the driver sends in a test
// is a byte it would send to the hardware.

export interface Bus {
  /** Combined write-then-read: write `data` without STOP, repeated START, read `length` bytes, STOP. */
  writeRead(data: Uint8Array, length: number): Promise<Uint8Array>;
  /**
   * The same read, answered at once by a bus that can (the simulator without faults or bus time,
   * a fixed-register bus): the bytes, a throw where `writeRead` would reject, or undefined when
   * it cannot answer now (then `writeRead` goes to the bus). The bytes may be an array the bus
   * reuses for its next such read, or keeps: read them at once, never write to them, keep no
   * reference. Optional; the real adapter has none: its reads go through the thread pool, so a
   * hung adapter never blocks the event loop.
   */
  readNow?(data: Uint8Array, length: number): Uint8Array | undefined;
  /** One plain message `[reg, data…]` ending with STOP. */
  write(data: Uint8Array): Promise<void>;
  /**
   * The same plain write, synchronously: only for the last act of an exiting process (disarming
   * the watchdog in an `exit` hook), where no promise can settle any more. Optional.
   */
  writeSync?(data: Uint8Array): void;
  /** Human-readable description, e.g. `/dev/i2c-1 @ 0x6D`. */
  readonly description: string;
  close(): Promise<void>;
}

export type BusErrorKind = 'io' | 'nack' | 'timeout' | 'unavailable';

/** A transaction that failed on the bus (retried by the driver; docs/controller.md H4). */
export class BusError extends Error {
  override name = 'BusError';
  constructor(
    message: string,
    readonly kind: BusErrorKind = 'io',
  ) {
    super(message);
  }
}
