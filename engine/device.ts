// Typed controller operations over a Bus, with halpid 5.0.2's retry policy (docs/controller.md H4):
// up to 4 attempts 10 ms apart, I/O failures only. DFU blocks and commits are never retried blindly:
// a retried block that had in fact arrived would be counted twice by the controller.

import createDebug from 'debug';
import { BusError, type Bus } from './bus.js';
import type { Clock } from './clock.js';
import { ControllerError } from './errors.js';
import { stepsPromise, type Steps } from './steps.js';
import {
  DecodeError,
  decodeIin,
  decodeMillis,
  decodeTemperature,
  decodeThreshold,
  decodeVcap,
  decodeVin,
  decodeWatchdogElapsed,
  dfuStateName,
  encodeBrightness,
  encodeMillis16,
  encodeMillis32,
  encodeThreshold,
  formatDeviceId,
  formatVersion,
  hex2,
  powerStateName,
  Reg,
  type DfuState,
  type PowerState,
} from './registers.js';

// Stryker disable next-line all: debug output only
const debug = createDebug('halpid:i2c');

export interface OpCounters {
  /** Attempts made. */
  transactions: number;
  /** Failed attempts. */
  errors: number;
  /** Attempts after the first. */
  retries: number;
  /** Operations that failed after all attempts. */
  failures: number;
}

export interface I2cCounters {
  read: OpCounters;
  write: OpCounters;
}

/** The seven-register measurement block (docs/controller.md), decoded as halpid 5.0.2 does. */
export interface Measurements {
  V_in: number;
  V_cap: number;
  I_in: number;
  T_mcu: number;
  T_pcb: number;
  state: PowerState;
  watchdog_elapsed: number;
  /** The register values behind them (dialect 4 decodes these in double precision). */
  raw: { V_in: number; V_cap: number; I_in: number; T_mcu: number; T_pcb: number; watchdog_elapsed: number };
}

export const CONFIG_KEYS = [
  'watchdog_timeout',
  'power_on_threshold',
  'solo_power_off_threshold',
  'led_brightness',
  'auto_restart',
  'solo_depleting_timeout',
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];
export type ControllerConfig = {
  watchdog_timeout: number;
  power_on_threshold: number;
  solo_power_off_threshold: number;
  led_brightness: number;
  auto_restart: boolean;
  solo_depleting_timeout: number;
};

/** Register, width and decoding of each controller setting (docs/api.md). */
export const CONFIG_REGISTERS: Record<ConfigKey, { reg: number; width: 1 | 2 | 4 }> = {
  watchdog_timeout: { reg: Reg.WATCHDOG_TIMEOUT, width: 2 },
  power_on_threshold: { reg: Reg.POWER_ON_THRESHOLD, width: 2 },
  solo_power_off_threshold: { reg: Reg.SOLO_POWER_OFF_THRESHOLD, width: 2 },
  led_brightness: { reg: Reg.LED_BRIGHTNESS, width: 1 },
  auto_restart: { reg: Reg.AUTO_RESTART, width: 1 },
  solo_depleting_timeout: { reg: Reg.SOLO_DEPLETING_TIMEOUT, width: 4 },
};

/**
 * A setting's register value from a number (docs/api.md): seconds to milliseconds truncated and
 * clamped, thresholds in float32, the brightness truncated and taken modulo 256, auto_restart
 * true for any non-zero number. The API's dialects decide first which JSON values are numbers.
 */
export function encodeConfig(key: ConfigKey, value: number): number {
  switch (key) {
    case 'watchdog_timeout':
      return encodeMillis16(value);
    case 'solo_depleting_timeout':
      return encodeMillis32(value);
    case 'power_on_threshold':
    case 'solo_power_off_threshold':
      return encodeThreshold(value);
    case 'led_brightness':
      return encodeBrightness(Math.trunc(value));
    case 'auto_restart':
      return value !== 0 ? 1 : 0;
  }
}

export interface DeviceOptions {
  /** Retries after the first attempt (default 3). */
  retries?: number;
  /** Pause between attempts (default 10 ms). */
  retryDelayMs?: number;
}

/** 5 °C: a board this cold may be below 0 °C by the next reading. */
const PCB_NEAR_FREEZING_K = 278.15;

/** The one-byte register address of each read, made once: a bus must not change what it is given. */
const REGISTER_BYTES: readonly Uint8Array[] = Array.from({ length: 256 }, (_, reg) => Uint8Array.of(reg));

const uint = (b: Uint8Array): number => {
  let v = 0;
  // Indexed: an iterator over the bytes was an allocation for each read.
  for (let i = 0; i < b.length; i++) v = v * 256 + b[i]!;
  return v;
};

export class Device {
  readonly counters: I2cCounters = {
    read: { transactions: 0, errors: 0, retries: 0, failures: 0 },
    write: { transactions: 0, errors: 0, retries: 0, failures: 0 },
  };
  private readonly retries: number;
  private readonly retryDelayMs: number;
  /**
   * Whether a successful first attempt is traced, read once: `debug.enabled` is an accessor on a
   * function object that V8 keeps as a dictionary, a lookup and a call at each of ten reads a
   * second. The namespaces come from DEBUG as the module loads.
   */
  private readonly traceOk = debug.enabled;
  /** The last T_pcb below full scale (K), and how many full-scale readings came since. */
  private readonly pcb: { lastK: number | null; fullScaleRun: number } = { lastK: null, fullScaleRun: 0 };

  constructor(
    readonly bus: Bus,
    private readonly clock: Clock,
    opts: DeviceOptions = {},
  ) {
    this.retries = opts.retries ?? 3;
    this.retryDelayMs = opts.retryDelayMs ?? 10;
  }

  /** Total attempts, reads and writes. */
  get transactions(): number {
    return this.counters.read.transactions + this.counters.write.transactions;
  }

  // --- raw access -------------------------------------------------------------------------

  read(reg: number, length: number): Promise<Uint8Array> {
    return this.attempt('read', reg, this.retries, () => this.bus.writeRead(REGISTER_BYTES[reg & 0xff]!, length));
  }

  /**
   * The same read without a promise when the bus answers at once (Bus.readNow): the bytes, or the
   * read's promise when the bus cannot answer now or the first attempt failed (the retries then
   * run as they always do). Bytes answered at once may be the bus's own array: every caller
   * decodes them before its next read.
   */
  readNow(reg: number, length: number): Uint8Array | Promise<Uint8Array> {
    const data = REGISTER_BYTES[reg & 0xff]!;
    const bus = this.bus;
    let out: Uint8Array | undefined;
    try {
      out = bus.readNow?.(data, length);
    } catch (err) {
      this.counters.read.transactions++;
      return this.retry('read', reg, this.retries, () => bus.writeRead(data, length), err);
    }
    if (out === undefined) return this.read(reg, length);
    this.counters.read.transactions++;
    // Stryker disable next-line all: debug output only
    if (this.traceOk) debug('%s %s ok (attempt %d)', 'read', hex2(reg), 1);
    return out;
  }

  async write(reg: number, payload: ArrayLike<number>, opts: { retry?: boolean } = {}): Promise<void> {
    const data = new Uint8Array(1 + payload.length);
    data[0] = reg;
    data.set(Array.from(payload), 1);
    await this.attempt('write', reg, opts.retry === false ? 0 : this.retries, () => this.bus.write(data));
  }

  /**
   * The first attempt without an async frame of its own: nearly every transaction succeeds at
   * once, and the daemon makes ten a second for as long as it runs. A failure goes on in `retry`.
   */
  private attempt<T>(op: 'read' | 'write', reg: number, retries: number, fn: () => Promise<T>): Promise<T> {
    this.counters[op].transactions++;
    let first: Promise<T>;
    try {
      first = fn();
    } catch (err) {
      return this.retry(op, reg, retries, fn, err);
    }
    return first.then(
      (result) => {
        // Stryker disable next-line all: debug output only
        if (this.traceOk) debug('%s %s ok (attempt %d)', op, hex2(reg), 1);
        return result;
      },
      (err: unknown) => this.retry(op, reg, retries, fn, err),
    );
  }

  /** After a failed attempt: up to `retries` more, I/O failures only (docs/controller.md H4). */
  private async retry<T>(
    op: 'read' | 'write',
    reg: number,
    retries: number,
    fn: () => Promise<T>,
    firstError: unknown,
  ): Promise<T> {
    const c = this.counters[op];
    let err = firstError;
    for (let attempt = 0; ; attempt++) {
      c.errors++;
      // Stryker disable next-line all: debug output only
      debug('%s %s failed (attempt %d): %s', op, hex2(reg), attempt + 1, (err as Error).message);
      if (!(err instanceof BusError) || attempt >= retries) {
        c.failures++;
        const text =
          op === 'read' ? `Failed to read from register ${hex2(reg)}` : `Failed to write to register ${hex2(reg)}`;
        throw new ControllerError(text, reg, op, err);
      }
      c.retries++;
      await this.clock.sleep(this.retryDelayMs);
      c.transactions++;
      try {
        const result = await fn();
        // Stryker disable next-line all: debug output only
        debug('%s %s ok (attempt %d)', op, hex2(reg), attempt + 2);
        return result;
      } catch (e) {
        err = e;
      }
    }
  }

  private decode<T>(reg: number, fn: (b: number) => T, b: number): T {
    try {
      return fn(b);
    } catch (err) {
      if (err instanceof DecodeError) throw new ControllerError(err.message, reg, 'decode');
      throw err;
    }
  }

  // --- measurements -----------------------------------------------------------------------

  async readVin(): Promise<number> {
    return decodeVin(await this.readMeasurement(Reg.V_IN));
  }

  /**
   * V_in without a promise when the bus answers at once (the simulator; the tick's one read ten
   * times a second), else its promise. Throws what `readVin` would reject with.
   */
  vinNow(): number | Promise<number> {
    const bytes = this.readNow(Reg.V_IN, 2);
    return bytes instanceof Promise ? bytes.then((b) => this.vinOf(b)) : this.vinOf(bytes);
  }

  private vinOf(bytes: Uint8Array): number {
    return decodeVin(this.checkMeasurement(Reg.V_IN, uint(bytes)));
  }

  async readIin(): Promise<number> {
    return decodeIin(await this.readMeasurement(Reg.I_IN));
  }

  async readVcap(): Promise<number> {
    return decodeVcap(await this.readMeasurement(Reg.V_CAP));
  }

  /**
   * One 16-bit measurement register. Full scale (0xFFFF) is what a corrupted transfer returns
   * (0xFF bytes), not a reading: 40 V in, 11 V on the supercap, 3.3 A, 100 °C exactly. It is
   * counted as a failed read and never published (docs/api.md). One exception: T_pcb.
   */
  private async readMeasurement(reg: number): Promise<number> {
    return this.checkMeasurement(reg, uint(await this.read(reg, 2)));
  }

  private checkMeasurement(reg: number, raw: number): number {
    if (reg === Reg.T_PCB) this.notePcb(raw);
    if (raw === 0xffff && !(reg === Reg.T_PCB && this.pcbBelowZero())) {
      this.counters.read.errors++;
      this.counters.read.failures++;
      throw new ControllerError(`Implausible reading from register ${hex2(reg)} (full scale)`, reg, 'implausible');
    }
    return raw;
  }

  readState(): Promise<PowerState> {
    return stepsPromise(this.stateSteps());
  }

  private *stateSteps(): Steps<PowerState> {
    return this.decode(Reg.POWER_STATE, powerStateName, (yield this.readNow(Reg.POWER_STATE, 1))[0]!);
  }

  /** One 16-bit measurement register as a step (readMeasurement's rules). */
  private *measurementSteps(reg: number): Steps<number> {
    return this.checkMeasurement(reg, uint(yield this.readNow(reg, 2)));
  }

  /** The 7-register block, in halpid 5.0.2's order; the first failure aborts it. */
  readMeasurements(): Promise<Measurements> {
    return stepsPromise(this.blockSteps());
  }

  /**
   * The block as a sequence of reads (steps.ts): without a promise from a bus that answers every
   * read at once, the same transactions and errors as `readMeasurements` otherwise.
   */
  *blockSteps(): Steps<Measurements> {
    const raw = {
      V_in: yield* this.measurementSteps(Reg.V_IN),
      V_cap: yield* this.measurementSteps(Reg.V_CAP),
      I_in: yield* this.measurementSteps(Reg.I_IN),
      T_mcu: yield* this.measurementSteps(Reg.T_MCU),
      T_pcb: yield* this.measurementSteps(Reg.T_PCB),
      watchdog_elapsed: 0,
    };
    const state = yield* this.stateSteps();
    raw.watchdog_elapsed = (yield this.readNow(Reg.WATCHDOG_ELAPSED, 1))[0]!;
    return {
      V_in: decodeVin(raw.V_in),
      V_cap: decodeVcap(raw.V_cap),
      I_in: decodeIin(raw.I_in),
      T_mcu: decodeTemperature(raw.T_mcu),
      T_pcb: decodeTemperature(raw.T_pcb),
      state,
      watchdog_elapsed: decodeWatchdogElapsed(raw.watchdog_elapsed),
      raw,
    };
  }

  /**
   * The firmware reads its TMP112 as unsigned, so a board below 0 °C reads full scale too, for as
   * long as it stays there: that is a reading (as halpid 5.0.2 publishes it), not a corrupted
   * transfer, when the last real reading was near freezing, or, with none yet (a start in the
   * cold), when full scale comes twice in a row. A warm board's full scale stays an error.
   */
  private pcbBelowZero(): boolean {
    const last = this.pcb.lastK;
    return last !== null ? last <= PCB_NEAR_FREEZING_K : this.pcb.fullScaleRun >= 2;
  }

  private notePcb(raw: number): void {
    if (raw === 0xffff) this.pcb.fullScaleRun++;
    else {
      this.pcb.fullScaleRun = 0;
      // 0 is what the controller reports before its first sensor reading after a reset.
      if (raw !== 0) this.pcb.lastK = decodeTemperature(raw);
    }
  }

  // --- identity and status ----------------------------------------------------------------

  // Each also as a step (steps.ts), for the sequences that read them with others.

  readHardwareVersion(): Promise<string> {
    return stepsPromise(this.hardwareVersionSteps());
  }

  *hardwareVersionSteps(): Steps<string> {
    return formatVersion(yield this.readNow(Reg.HARDWARE_VERSION, 4));
  }

  readFirmwareVersion(): Promise<string> {
    return stepsPromise(this.firmwareVersionSteps());
  }

  *firmwareVersionSteps(): Steps<string> {
    return formatVersion(yield this.readNow(Reg.FIRMWARE_VERSION, 4));
  }

  readDeviceId(): Promise<string> {
    return stepsPromise(this.deviceIdSteps());
  }

  *deviceIdSteps(): Steps<string> {
    return formatDeviceId(yield this.readNow(Reg.DEVICE_ID, 8));
  }

  read5vOutput(): Promise<boolean> {
    return stepsPromise(this.output5vSteps());
  }

  *output5vSteps(): Steps<boolean> {
    return (yield this.readNow(Reg.POWER_GOOD_5V, 1))[0] !== 0;
  }

  /** Register 0x12 in milliseconds (the controller's read-back copy). */
  readWatchdogTimeoutMs(): Promise<number> {
    return stepsPromise(this.watchdogTimeoutSteps());
  }

  *watchdogTimeoutSteps(): Steps<number> {
    return uint(yield this.readNow(Reg.WATCHDOG_TIMEOUT, 2));
  }

  // --- controller configuration -----------------------------------------------------------

  async readConfig<K extends ConfigKey>(key: K): Promise<ControllerConfig[K]> {
    const { reg, width } = CONFIG_REGISTERS[key];
    const raw = uint(await this.read(reg, width));
    return decodeConfig(key, raw) as ControllerConfig[K];
  }

  /** Write a register value already converted as in docs/api.md. */
  async writeConfigRaw(key: ConfigKey, raw: number): Promise<void> {
    const { reg, width } = CONFIG_REGISTERS[key];
    const bytes: number[] = [];
    for (let i = width - 1; i >= 0; i--) bytes.push(Math.floor(raw / 256 ** i) & 0xff);
    await this.write(reg, bytes);
  }

  async setWatchdogMs(ms: number): Promise<void> {
    await this.write(Reg.WATCHDOG_TIMEOUT, [(ms >>> 8) & 0xff, ms & 0xff]);
  }

  // --- USB ----------------------------------------------------------------------------------

  readUsb(): Promise<number> {
    return stepsPromise(this.usbSteps());
  }

  *usbSteps(): Steps<number> {
    return (yield this.readNow(Reg.USB_PORTS, 1))[0]! & 0x0f;
  }

  async writeUsb(bits: number): Promise<void> {
    await this.write(Reg.USB_PORTS, [bits & 0x0f]);
  }

  // --- power requests -----------------------------------------------------------------------

  async requestShutdown(): Promise<void> {
    await this.write(Reg.REQUEST_SHUTDOWN, [0x01]);
  }

  async requestStandby(): Promise<void> {
    await this.write(Reg.REQUEST_STANDBY, [0x01]);
  }

  // --- DFU ----------------------------------------------------------------------------------

  async dfuStart(size: number): Promise<void> {
    await this.write(Reg.DFU_START, [(size >>> 24) & 0xff, (size >>> 16) & 0xff, (size >>> 8) & 0xff, size & 0xff]);
  }

  async dfuStatus(): Promise<DfuState> {
    return this.decode(Reg.DFU_STATUS, dfuStateName, (await this.read(Reg.DFU_STATUS, 1))[0]!);
  }

  async dfuBlocksWritten(): Promise<number> {
    return uint(await this.read(Reg.DFU_BLOCKS_WRITTEN, 2));
  }

  /** One block message; sent once (a blind retry could be double-counted). */
  async dfuBlock(message: Uint8Array): Promise<void> {
    await this.write(Reg.DFU_BLOCK, message, { retry: false });
  }

  async dfuCommit(): Promise<void> {
    await this.write(Reg.DFU_COMMIT, [0x00], { retry: false });
  }

  async dfuAbort(): Promise<void> {
    await this.write(Reg.DFU_ABORT, [0x00]);
  }
}

export function decodeConfig(key: ConfigKey, raw: number): number | boolean {
  switch (key) {
    case 'watchdog_timeout':
    case 'solo_depleting_timeout':
      return decodeMillis(raw);
    case 'power_on_threshold':
    case 'solo_power_off_threshold':
      return decodeThreshold(raw);
    case 'led_brightness':
      return raw;
    case 'auto_restart':
      return raw !== 0;
  }
}
