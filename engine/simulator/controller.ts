// SimulatedController: a model of the HALPI2 controller running firmware 3.3.1, seen through the
// same Bus interface as the real I2C adapter (docs/controller.md). Time comes from an injected
// clock; the model catches up lazily on every transaction and on its own periodic timer.

import createDebug from 'debug';
import crc32 from 'crc-32';
import { BusError, type Bus } from '../bus.js';
import type { Clock, TimerHandle } from '../clock.js';
import { firmwareImageProblem } from '../firmware-image.js';
import { formatVersion, Reg, type PowerState } from '../registers.js';
import { DfuWriter } from './dfu-writer.js';
import {
  decodeThresholdWrite,
  encodeIin,
  encodeTemperature,
  encodeThresholdRead,
  encodeVcap,
  encodeVin,
} from './encoding.js';
import { FaultTable, type FaultRule, type FaultRuleInput } from './faults.js';
import { PowerStateMachine, type Board, TICK_MS } from './firmware.js';
import { HostModel, type HostPhase } from './host.js';
import { Physics, type Loads } from './physics.js';
import { SettingsStore, type PersistedSettings } from './store.js';
import { TransactionLog, type TransactionLogEntry } from './transaction-log.js';

export type { TransactionLogEntry } from './transaction-log.js';

const debug = createDebug('halpid:sim');

const STEP_MS = 10;
const MAX_TRANSACTION = 4105;
const MARK_GOOD_MS = 30_000;
/** How long the bootloader waits for a swapped-in image that never starts before it resets. */
const BOOTLOADER_WATCHDOG_MS = 8_000;
const LED_OVERRIDE_MS = 5_000;
const LOG_SIZE = 500;
const BROWN_OUT_HOST_V = 5.0;
const BROWN_OUT_MCU_V = 4.5;
const UNPROGRAMMED_HW = [0x00, 0x00, 0xff, 0xff];
/** 0x50–0x52: stored on write but never applied and never reloaded, so a reset restores these. */
const DEFAULT_CORRECTIONS = [1.015, 1.059, 0.8115331].map(Math.fround);

export interface SimulatorOptions {
  clock: Clock;
  /** `host-running` (default): as if the host had just booted (daemon simulator mode); `cold`: MCU reset, no host. */
  start?: 'host-running' | 'cold';
  /** Transactions fail with an I/O error while the simulated host is off (daemon simulator mode). */
  hostGated?: boolean;
  stateFile?: string;
  firmwareVersion?: number[];
  hardwareVersion?: number[];
  deviceId?: number[];
  testMode?: boolean;
  /** DFU timings (tests set them to 0). */
  sectorEraseMs?: number;
  blockProgramMs?: number;
  /** How long the bootloader is silent while it swaps in a new image. */
  swapMs?: number;
  /** Optional bus-time model, microseconds per byte (100 kHz ≈ 90). */
  busByteUs?: number;
  random?: () => number;
  warn?: (message: string) => void;
  inputs?: Partial<SimInputs>;
}

export interface SimInputs {
  V_in: number;
  V_cap: number;
  I_in: number | null;
  T_mcu: number;
  T_pcb: number;
}

export interface SimHostSettings {
  cm_on: boolean;
  load_W: number;
  boot_delay_s: number;
  halt_delay_s: number;
}

export interface SimIdentity {
  firmware_version: number[];
  hardware_version: number[];
  device_id: string;
  test_mode: boolean;
}

export interface SimSnapshot {
  controller: {
    state: PowerState;
    rails_on: boolean;
    usb: number;
    watchdog_ms: number;
    led_brightness: number;
    auto_restart: boolean;
    power_on_threshold: number;
    solo_power_off_threshold: number;
    solo_depleting_timeout_ms: number;
    dfu_status: number;
    dfu_blocks_written: number;
    firmware_version: string;
    hardware_version: string;
    device_id: string;
    pending_swap: boolean;
  };
  inputs: { V_in: number; V_cap: number; I_in: number; T_mcu: number; T_pcb: number };
  host: { cm_on: boolean; load_W: number; boot_delay_s: number; halt_delay_s: number; rtc_alarm: number | null };
  faults: FaultRule[];
}

export class SimulatedController implements Bus {
  readonly description = 'simulated HALPI2 controller';
  readonly faults: FaultTable;
  readonly host: HostModel;
  readonly physics: Physics;
  readonly dfu: DfuWriter;
  private readonly transactions = new TransactionLog(LOG_SIZE);
  /** Transactions that reached the controller (each one pings the watchdog). */
  processed = 0;

  private readonly clock: Clock;
  private readonly sm: PowerStateMachine;
  private readonly store: SettingsStore;
  private readonly hostGated: boolean;
  private readonly swapMs: number;
  private readonly busByteUs: number;
  private settings: PersistedSettings;
  private t: number; // time the model has been advanced to
  private stepIndex = 0; // 10 ms steps processed since t0
  private readonly t0: number;
  private railsOn = false;
  private usb = 0;
  private watchdogCopy = 0;
  private hardwareVersion: number[];
  private firmwareVersion: number[];
  private previousFirmware: number[] | null = null;
  private deviceId: number[];
  private testMode: boolean;
  private corrections = [...DEFAULT_CORRECTIONS];
  private pcbRaw = 0;
  private nextPcbAt: number;
  private markGoodAt: number;
  private pendingSwap = false;
  /** Why the committed image would not start, or null when it would (docs/controller.md). */
  private stagedProblem: string | null = null;
  private silentUntil = -Infinity;
  private brownedOut = false;
  private ledOverrideUntil = -Infinity;
  private cmOnSample = false;
  private hostListeners: Array<(cmOn: boolean) => void> = [];
  private phaseListeners: Array<(phase: HostPhase) => void> = [];
  private toldPhase: HostPhase | null = null;
  private held = false;
  private timer: TimerHandle | null = null;

  constructor(opts: SimulatorOptions) {
    this.clock = opts.clock;
    this.hostGated = opts.hostGated ?? false;
    this.swapMs = opts.swapMs ?? 10_000;
    this.busByteUs = opts.busByteUs ?? 0;
    this.faults = new FaultTable(opts.random);
    this.store = new SettingsStore(opts.stateFile, opts.warn);
    this.settings = this.store.load();
    this.testMode = opts.testMode ?? false;
    this.firmwareVersion = [...(opts.firmwareVersion ?? [3, 3, 1, 0xff])];
    this.initialHardware = [...(opts.hardwareVersion ?? UNPROGRAMMED_HW)];
    this.hardwareVersion = this.persistedHardware();
    this.deviceId = [...(opts.deviceId ?? [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef])];
    this.dfu = new DfuWriter(
      { sectorEraseMs: opts.sectorEraseMs ?? 30, blockProgramMs: opts.blockProgramMs ?? 10 },
      () => {
        this.pendingSwap = true;
        // The controller writes whatever it is sent; what the bootloader will find is known now.
        this.stagedProblem = firmwareImageProblem(this.dfu.image());
      },
    );
    const inputs = opts.inputs ?? {};
    this.physics = new Physics({
      vin: inputs.V_in ?? 12.0,
      vcap: inputs.V_cap ?? 10.25,
      tMcu: inputs.T_mcu ?? 308.15,
      tPcb: inputs.T_pcb ?? 303.15,
    });
    if (inputs.I_in !== undefined) this.physics.iinOverride = inputs.I_in;
    // Steps on whole milliseconds: small integers, which V8 passes between calls as they are (a
    // fractional moment passed to a call it did not inline is a new heap object, each step).
    this.t0 = Math.floor(this.clock.now());
    this.t = this.t0;
    this.sm = new PowerStateMachine(this.board());
    const running = (opts.start ?? 'host-running') === 'host-running';
    this.host = new HostModel(running);
    this.markGoodAt = this.t0 + MARK_GOOD_MS;
    if (running) {
      this.railsOn = true;
      this.usb = 0x0f;
      this.cmOnSample = true;
      this.sm.init('OperationalSolo', this.t0, true);
      this.pcbRaw = this.pcbEncode();
      this.nextPcbAt = this.t0 + 1000;
      this.physics.settle(this.loads());
    } else {
      this.sm.init('PowerOff', this.t0, false);
      this.nextPcbAt = this.t0 + 1000;
    }
  }

  // --- Bus ---------------------------------------------------------------------------------

  writeRead(data: Uint8Array, length: number): Promise<Uint8Array> {
    if (data.length === 0) return this.plainRead(length);
    // With no fault to inject and no bus time to model, the answer is ready now: no chain of
    // promises for the ten reads a second of an idle daemon.
    if (this.faults.empty && this.busByteUs === 0) {
      try {
        return Promise.resolve(this.answerRead(data[0]!, data, length, undefined));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return this.slowRead(data, length);
  }

  /**
   * The read answered at once (Bus.readNow) when no fault or bus time is to be modelled, in an
   * array the next such read reuses (a new array a read was most of what an idle tick allocated).
   */
  readNow(data: Uint8Array, length: number): Uint8Array | undefined {
    if (data.length === 0 || !this.faults.empty || this.busByteUs !== 0) return undefined;
    return this.answerRead(data[0]!, data, length, undefined, this.answers);
  }
  private readonly answers: AnswerBuffers = { b1: new Uint8Array(1), b2: new Uint8Array(2), b4: new Uint8Array(4) };

  private async slowRead(data: Uint8Array, length: number): Promise<Uint8Array> {
    const reg = data[0]!;
    const rule = await this.applyFault('read', reg, data);
    if (rule?.kind === 'ignore') return new Uint8Array(length);
    await this.busTime(data.length + length);
    return this.answerRead(reg, data, length, rule);
  }

  private answerRead(
    reg: number,
    data: Uint8Array,
    length: number,
    rule: FaultRule | undefined,
    into?: AnswerBuffers,
  ): Uint8Array {
    this.enter('read', reg, data);
    const value = this.readRegister(reg, into);
    // readRegister's array (a new one, or readNow's own): one of the length asked for is the answer.
    if (value && value.length === length && rule === undefined) {
      this.ping();
      this.record('read', reg, value, 'ok');
      return value;
    }
    const out = new Uint8Array(length);
    if (rule?.kind === 'corrupt') out.fill(0xff);
    else if (value) out.set(value.subarray(0, length));
    this.ping();
    this.record('read', reg, out, 'ok');
    return out;
  }

  async write(data: Uint8Array): Promise<void> {
    const reg = data[0];
    const rule = await this.applyFault('write', reg, data);
    if (rule?.kind === 'ignore') {
      this.record('write', reg, data, 'ignored (fault)');
      return;
    }
    await this.busTime(data.length);
    this.enter('write', reg, data);
    if (data.length < 2 || data.length > MAX_TRANSACTION) {
      this.record('write', reg, data, 'discarded (length)');
      return;
    }
    let pinged: boolean;
    try {
      pinged = await this.writeRegister(reg!, data);
    } catch (err) {
      // Not a bus error: not retried; the device reports a failed write (docs/api.md).
      this.record('write', reg, data, `failed: ${(err as Error).message}`);
      throw err;
    }
    if (pinged) this.ping();
    this.record('write', reg, data, pinged ? 'ok' : 'rejected (no ping)');
  }

  /** A read with no write in the same transaction: every byte is 0x00. */
  async plainRead(length: number): Promise<Uint8Array> {
    this.enter('read', undefined, new Uint8Array());
    this.ping();
    this.record('plain-read', undefined, new Uint8Array(length), 'zeros');
    return new Uint8Array(length);
  }

  async close(): Promise<void> {
    this.stop();
  }

  // --- periodic catch-up --------------------------------------------------------------------

  /**
   * Keep the model moving on its own, so host boots are noticed without traffic (the I2C
   * emulator). Every transaction advances the model anyway, so this wakes the process only once
   * a second. The Engine does not use it: its tick advances the model (`sync`) ten times a second.
   */
  start(periodMs = 1000): void {
    if (this.timer) return;
    const loop = (): void => {
      this.sync();
      this.timer = this.clock.setTimeout(loop, periodMs);
    };
    this.timer = this.clock.setTimeout(loop, periodMs);
  }

  stop(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** Called whenever the simulated host's phase changes (booting, running, halting, halted, unpowered). */
  onHostPhase(listener: (phase: HostPhase) => void): () => void {
    this.phaseListeners.push(listener);
    return () => {
      this.phaseListeners = this.phaseListeners.filter((l) => l !== listener);
    };
  }

  /** Whether the simulated input power is connected (POST /sim/power). */
  get powerConnected(): boolean {
    return this.physics.powerConnected;
  }

  /** Called whenever the simulated host's CM_ON changes (after the model caught up). */
  onHostChange(listener: (cmOn: boolean) => void): () => void {
    this.hostListeners.push(listener);
    return () => {
      this.hostListeners = this.hostListeners.filter((l) => l !== listener);
    };
  }

  /** Advance the model to the clock's current time. */
  sync(): void {
    const now = this.clock.now();
    // The wall clock read once for all the steps (not twice per step), and only while the host's
    // RTC alarm is set: the alarm compares each step's moment in Unix seconds with it.
    const wallS = this.host.rtcAlarm === null ? NaN : this.clock.wallNow() / 1000;
    const wasOn = this.host.cmOn;
    let changed = false;
    for (;;) {
      // The step index is counted, never recomputed from times: with a fractional real clock,
      // floor((t - t0) / 10) can land on the step just taken and loop forever.
      const at = this.t0 + (this.stepIndex + 1) * STEP_MS;
      if (at > now) break;
      this.stepIndex++;
      const before = this.host.cmOn;
      this.syncNow = now;
      this.syncWallS = wallS;
      this.step(this.stepIndex);
      if (this.host.cmOn !== before) changed = true;
    }
    if (now > this.t) this.t = now;
    // Compared with the last phase told, so a change made outside a step (haltHost) is told too.
    if (this.host.phase !== this.toldPhase) {
      const phase = (this.toldPhase = this.host.phase);
      for (const l of this.phaseListeners) l(phase);
    }
    if (changed && this.host.cmOn !== wasOn) {
      const on = this.host.cmOn;
      for (const l of this.hostListeners) l(on);
    }
  }

  // The moment and wall clock of the sync in progress, for its steps: fields, not arguments (a
  // fractional number passed to a call the optimiser did not inline is a new heap object).
  private syncNow = 0;
  private syncWallS = NaN;

  /** One 10 ms step of the model, the `k`th since t0. */
  private step(k: number): void {
    const at = this.t0 + k * STEP_MS;
    this.t = at;
    const loads = this.loads();
    const host = this.host;
    host.update(at, host.rtcAlarm === null ? NaN : this.syncWallS - (this.syncNow - at) / 1000);
    if (k % 2 === 0) {
      if (!this.held) this.physics.step(20, loads);
      this.physics.sample(this.loads()); // refilled: the host's draw may have changed in update()
      this.checkBrownOut(at);
    }
    this.host.setPowered(this.hostPowered, at);
    this.cmOnSample = this.host.cmOn;
    if (this.alive(at)) {
      this.dfu.update(at);
      if (k % (TICK_MS / STEP_MS) === 0) this.sm.tick(at);
      if (at >= this.nextPcbAt) {
        this.pcbRaw = this.pcbEncode();
        this.nextPcbAt = at + 1000;
      }
      if (at >= this.markGoodAt) {
        this.markGoodAt = Infinity;
        this.previousFirmware = null; // the running image marks itself good
        if (this.pendingSwap) {
          this.pendingSwap = false; // a commit within 30 s of boot is cancelled by the mark-good step
          this.trace('reset', 'staged update cancelled by the mark-good step');
        }
      }
      if (at >= this.ledOverrideUntil) this.ledOverrideUntil = -Infinity;
    }
  }

  private checkBrownOut(at: number): void {
    const present = this.physics.inputPresent;
    if (!this.brownedOut && !present && this.physics.vcap < BROWN_OUT_MCU_V) {
      this.brownedOut = true;
      this.setRails(false);
      this.trace('reset', 'brown-out: controller stopped');
    } else if (this.brownedOut && present) {
      this.brownedOut = false;
      this.mcuReset(at);
    }
  }

  private get pg5v(): boolean {
    return this.railsOn && (this.physics.inputPresent || this.physics.vcap > BROWN_OUT_HOST_V);
  }

  private get hostPowered(): boolean {
    return this.pg5v && !this.brownedOut;
  }

  private alive(at: number): boolean {
    return !this.brownedOut && at >= this.silentUntil;
  }

  /** The loads on the power path now, in one object the model reads and never keeps. */
  private loads(): Loads {
    const l = this.loadsNow;
    l.railsOn = this.railsOn;
    l.hostLoadW = this.host.drawW;
    return l;
  }
  // One object for all steps: a new one per step was twenty objects a tick for the collector.
  private readonly loadsNow: Loads = { railsOn: false, hostLoadW: 0 };

  private board(): Board {
    // The getters are defined on the object, not written in its literal: V8 makes an object
    // literal with accessors a dictionary, and the firmware's tick reads the board ten times a
    // second (a hash lookup and a call the optimiser could not inline, each time).
    const methods = {
      setRails: (on: boolean) => this.setRails(on),
      setUsb: (bits: number) => {
        this.usb = bits;
      },
      doubleClickHost: () => this.host.halt(this.t + 700), // released/pressed pattern ≈ 0.7 s
      mcuReset: () => this.mcuReset(this.t),
      onTransition: (from: PowerState, to: PowerState) => {
        this.ledOverrideUntil = -Infinity;
        this.trace('transition', `${from} -> ${to}`);
      },
    };
    const getter = <T>(get: () => T): PropertyDescriptor => ({ get, enumerable: true });
    return Object.defineProperties(methods, {
      vin: getter(() => this.physics.measuredVin),
      vcap: getter(() => this.physics.measuredVcap),
      cmOnSample: getter(() => this.cmOnSample),
      pg5v: getter(() => this.pg5v),
      powerOnThreshold: getter(() => this.settings.power_on_threshold),
      soloDepletingMs: getter(() => this.settings.solo_depleting_timeout_ms),
      autoRestart: getter(() => this.settings.auto_restart),
    }) as typeof methods & Board;
  }

  private setRails(on: boolean): void {
    this.railsOn = on;
    this.host.setPowered(this.hostPowered, this.t);
    this.cmOnSample = this.cmOnSample && this.host.cmOn;
  }

  // --- transactions -------------------------------------------------------------------------

  private async applyFault(
    op: 'read' | 'write',
    reg: number | undefined,
    data: Uint8Array,
  ): Promise<FaultRule | undefined> {
    const rule = this.faults.match(op, reg);
    if (!rule) return undefined;
    this.record('fault', reg, data, `injected ${rule.kind}`);
    debug('fault %s on %s 0x%s', rule.kind, op, reg?.toString(16));
    switch (rule.kind) {
      case 'nack':
        throw new BusError('Remote I/O error (injected NACK)', 'nack');
      case 'timeout':
        await this.clock.sleep(rule.delay_ms);
        throw new BusError('Connection timed out (injected timeout)', 'timeout');
      case 'stretch':
        await this.clock.sleep(rule.delay_ms);
        return rule;
      default:
        return rule;
    }
  }

  private async busTime(bytes: number): Promise<void> {
    if (this.busByteUs > 0) await this.clock.sleep((bytes * this.busByteUs) / 1000);
  }

  /** Catch up, then refuse the transaction if nobody is there to answer it. */
  private enter(op: 'read' | 'write', reg: number | undefined, data: Uint8Array): void {
    this.sync();
    if (this.hostGated && !this.host.cmOn) {
      this.record(op, reg, data, 'failed: host off');
      throw new BusError('Input/output error (the simulated host is powered off)', 'io');
    }
    if (!this.alive(this.t)) {
      this.record(op, reg, data, 'failed: controller silent');
      throw new BusError('Remote I/O error (controller not answering)', 'nack');
    }
  }

  private ping(): void {
    this.processed++;
    this.sm.ping(this.t);
  }

  /**
   * The register's value, in a new array at each read (answerRead may hand it out as the answer),
   * or for a register of 1, 2 or 4 bytes in `into`'s array of that size when it is given.
   */
  private readRegister(reg: number, into?: AnswerBuffers): Uint8Array | null {
    const p = this.physics;
    switch (reg) {
      case Reg.LEGACY_HW_VERSION:
        return byte(into, 0x00);
      case Reg.LEGACY_FW_VERSION:
        return byte(into, 0xff);
      case Reg.HARDWARE_VERSION:
        return Uint8Array.from(this.hardwareVersion);
      case Reg.FIRMWARE_VERSION:
        return Uint8Array.from(this.firmwareVersion);
      case Reg.POWER_GOOD_5V:
        return byte(into, this.pg5v ? 1 : 0);
      case Reg.WATCHDOG_TIMEOUT:
        return u16(into, this.watchdogCopy);
      case Reg.POWER_ON_THRESHOLD:
        return u16(into, encodeThresholdRead(this.settings.power_on_threshold));
      case Reg.SOLO_POWER_OFF_THRESHOLD:
        return u16(into, encodeThresholdRead(this.settings.solo_power_off_threshold));
      case Reg.POWER_STATE:
        return byte(into, this.sm.stateNumber);
      case Reg.WATCHDOG_ELAPSED:
        return byte(into, 0);
      case Reg.LED_BRIGHTNESS:
        return byte(into, this.settings.led_brightness);
      case Reg.AUTO_RESTART:
        return byte(into, this.settings.auto_restart ? 1 : 0);
      case Reg.SOLO_DEPLETING_TIMEOUT:
        return u32(into, this.settings.solo_depleting_timeout_ms);
      case Reg.USB_PORTS:
        return byte(into, this.usb);
      case Reg.V_IN:
        return u16(into, encodeVin(p.measuredVin));
      case Reg.V_CAP:
        return u16(into, encodeVcap(p.measuredVcap));
      case Reg.I_IN:
        return u16(into, encodeIin(p.measuredIin));
      case Reg.T_MCU:
        return u16(into, encodeTemperature(p.measuredTmcu));
      case Reg.T_PCB:
        return u16(into, this.pcbRaw);
      case Reg.DEVICE_ID:
        return Uint8Array.from(this.deviceId);
      case Reg.DFU_STATUS:
        return byte(into, this.dfu.status);
      case Reg.DFU_BLOCKS_WRITTEN:
        return u16(into, this.dfu.blocksWritten & 0xffff);
      case Reg.VIN_CORRECTION:
      case Reg.VSCAP_CORRECTION:
      case Reg.IIN_CORRECTION: {
        const b = Buffer.alloc(4);
        b.writeFloatLE(this.corrections[reg - Reg.VIN_CORRECTION]!);
        return new Uint8Array(b);
      }
      default:
        return null; // unknown or write-only: the pending read is served as zeros
    }
  }

  /** Apply a write; returns whether it was processed (and so pings the watchdog). */
  private async writeRegister(reg: number, data: Uint8Array): Promise<boolean> {
    const n = data.length;
    const now = this.t;
    switch (reg) {
      case Reg.HARDWARE_VERSION:
        if (n !== 5) return false;
        if (this.testMode) this.persist({ hardware_version: [...data.subarray(1, 5)] });
        this.hardwareVersion = [...data.subarray(1, 5)];
        return true;
      case Reg.POWER_GOOD_5V:
        // "Immediate" hard power-down: not queued for the next tick.
        if (data[1] === 0) this.sm.immediate({ kind: 'off' }, now);
        return true;
      case Reg.WATCHDOG_TIMEOUT:
        if (n === 3) {
          this.watchdogCopy = be(data, 1, 2);
          this.sm.post({ kind: 'set-watchdog', ms: this.watchdogCopy });
        }
        return true;
      case Reg.POWER_ON_THRESHOLD:
      case Reg.SOLO_POWER_OFF_THRESHOLD:
        if (n === 3) {
          const volts = decodeThresholdWrite(be(data, 1, 2));
          this.persist(
            reg === Reg.POWER_ON_THRESHOLD ? { power_on_threshold: volts } : { solo_power_off_threshold: volts },
          );
        }
        return true;
      case Reg.LED_BRIGHTNESS:
        this.persist({ led_brightness: data[1]! });
        return true;
      case Reg.AUTO_RESTART:
        this.persist({ auto_restart: data[1] !== 0 });
        return true;
      case Reg.SOLO_DEPLETING_TIMEOUT: {
        const bytes = [data[1] ?? 0, data[2] ?? 0, data[3] ?? 0, data[4] ?? 0];
        this.persist({ solo_depleting_timeout_ms: be(Uint8Array.from(bytes), 0, 4) });
        return true;
      }
      case Reg.USB_PORTS:
        if (n !== 2) return false;
        this.usb = data[1]! & 0x0f;
        return true;
      case Reg.REQUEST_SHUTDOWN:
        this.sm.post({ kind: 'shutdown' });
        return true;
      case Reg.REQUEST_STANDBY:
        this.sm.post({ kind: 'standby' });
        return true;
      case Reg.DFU_START:
        if (n < 5) {
          this.dfu.lengthLatch = true;
          return false;
        }
        this.dfu.start(be(data, 1, 4), now);
        return true;
      case Reg.DFU_BLOCK:
        return this.dfuBlock(data);
      case Reg.DFU_COMMIT:
        if (this.dfu.latched) return false;
        this.dfu.commit(now);
        return true;
      case Reg.DFU_ABORT:
        this.dfu.abort();
        return true;
      case Reg.VIN_CORRECTION:
      case Reg.VSCAP_CORRECTION:
      case Reg.IIN_CORRECTION:
        if (n !== 6) return false;
        this.corrections[reg - Reg.VIN_CORRECTION] = Buffer.from(data.subarray(1, 5)).readFloatLE();
        return true;
      case Reg.LED_OVERRIDE:
        if (n !== 31 || this.sm.state !== 'OperationalCoOp') return false;
        this.ledOverrideUntil = now + LED_OVERRIDE_MS;
        return true;
      default:
        return true; // unknown or read-only register: ignored
    }
  }

  private async dfuBlock(data: Uint8Array): Promise<boolean> {
    const dfu = this.dfu;
    if (data.length < 10) {
      dfu.lengthLatch = true;
      return false;
    }
    if (dfu.latched) return false;
    const body = data.subarray(5);
    const crc = be(data, 1, 4);
    if (crc32.buf(body) >>> 0 !== crc) {
      dfu.crcLatch = true;
      return false;
    }
    const block = be(data, 5, 2);
    const len = be(data, 7, 2);
    if (len !== data.length - 9) {
      dfu.lengthLatch = true;
      return false;
    }
    const payload = data.slice(9);
    // The I2C side holds the bus (clock stretching) while the writer's queue is full.
    while (!dfu.block(block, payload, this.t)) {
      await this.clock.sleep(STEP_MS);
      this.sync();
      if (!this.alive(this.t)) throw new BusError('Remote I/O error (controller reset during a block write)', 'io');
    }
    return true;
  }

  /** Save first, then change: a write the state file refused leaves the setting as it was. */
  private persist(change: Partial<PersistedSettings>): void {
    const next = { ...this.settings, ...change };
    this.store.save(next);
    this.settings = next;
  }

  private pcbEncode(): number {
    // The firmware treats the TMP112 reading as unsigned: sub-zero reads as ≈ +255 °C.
    return this.physics.tPcb < 273.15 ? 65535 : encodeTemperature(this.physics.tPcb);
  }

  // --- simulation controls (docs/api.md) ----------------------------------------------

  /** MCU reset: volatile state lost, persisted settings reloaded, a pending swap applied. */
  mcuReset(at = this.clock.now()): void {
    if (at > this.t) this.sync();
    let silence = 0;
    if (this.pendingSwap && this.stagedProblem) {
      // The bootloader swaps the image in and jumps to it; it never marks itself good, the
      // bootloader's watchdog resets the MCU and the bootloader swaps the old image back.
      this.pendingSwap = false;
      this.nextFirmware = null;
      silence = 2 * this.swapMs + BOOTLOADER_WATCHDOG_MS;
      this.trace(
        'reset',
        `MCU reset: the staged image does not start (${this.stagedProblem}); reverting to ${formatVersion(this.firmwareVersion)}`,
      );
      this.stagedProblem = null;
    } else if (this.pendingSwap) {
      this.pendingSwap = false;
      this.previousFirmware = [...this.firmwareVersion];
      this.firmwareVersion = [...(this.nextFirmware ?? this.firmwareVersion)];
      this.nextFirmware = null;
      silence = this.swapMs;
      this.trace('reset', `MCU reset: swapping in the staged image (${formatVersion(this.firmwareVersion)})`);
    } else if (this.previousFirmware) {
      this.firmwareVersion = this.previousFirmware;
      this.previousFirmware = null;
      silence = this.swapMs;
      this.trace('reset', `MCU reset within 30 s of an update: reverting to ${formatVersion(this.firmwareVersion)}`);
    } else {
      this.trace('reset', 'MCU reset');
    }
    this.settings = this.store.load();
    this.hardwareVersion = this.persistedHardware(); // an un-persisted write (no TEST_MODE) is lost
    this.watchdogCopy = 0;
    this.usb = 0;
    this.corrections = [...DEFAULT_CORRECTIONS];
    this.dfu.reset();
    this.ledOverrideUntil = -Infinity;
    this.railsOn = false;
    this.host.setPowered(false, at);
    this.cmOnSample = false;
    this.silentUntil = at + silence;
    const boot = at + silence;
    this.sm.init('PowerOff', boot, false);
    this.pcbRaw = 0;
    this.nextPcbAt = boot + 1000;
    this.markGoodAt = boot + MARK_GOOD_MS;
  }

  /** Version bytes the next swapped-in image reports (set with `setIdentity` while a swap is pending). */
  private nextFirmware: number[] | null = null;
  private initialHardware: number[] = UNPROGRAMMED_HW;

  private persistedHardware(): number[] {
    return [...(this.settings.hardware_version ?? this.initialHardware)];
  }

  setInputs(inputs: Partial<SimInputs>): void {
    this.sync();
    const p = this.physics;
    if (inputs.V_in !== undefined) p.vinSupply = inputs.V_in;
    if (inputs.V_cap !== undefined) p.vcap = inputs.V_cap;
    if (inputs.I_in !== undefined) p.iinOverride = inputs.I_in;
    if (inputs.T_mcu !== undefined) p.tMcu = inputs.T_mcu;
    if (inputs.T_pcb !== undefined) {
      p.tPcb = inputs.T_pcb;
      this.pcbRaw = this.pcbEncode();
    }
    if (inputs.V_in !== undefined && inputs.V_in > 0) p.powerConnected = true;
    p.settle(this.loads());
  }

  /** Freeze the supercap's charge and discharge, so that set inputs read back exactly. */
  hold(on: boolean): void {
    this.sync();
    this.held = on;
  }

  /** Cut (false) or restore (true) the input; the ADC averages follow over ≈200 ms. */
  setPower(on: boolean): void {
    this.sync();
    this.physics.powerConnected = on;
  }

  setHost(settings: Partial<SimHostSettings>): void {
    this.sync();
    const h = this.host;
    if (settings.load_W !== undefined) h.loadW = settings.load_W;
    if (settings.boot_delay_s !== undefined) h.bootDelayS = settings.boot_delay_s;
    if (settings.halt_delay_s !== undefined) h.haltDelayS = settings.halt_delay_s;
    if (settings.cm_on !== undefined) h.force(settings.cm_on, this.t, this.hostPowered);
  }

  setIdentity(id: Partial<SimIdentity>): void {
    this.sync();
    if (id.test_mode !== undefined) this.testMode = id.test_mode;
    if (id.firmware_version) {
      if (this.pendingSwap) this.nextFirmware = [...id.firmware_version];
      else this.firmwareVersion = [...id.firmware_version];
    }
    if (id.hardware_version) {
      if (this.testMode) this.persist({ hardware_version: [...id.hardware_version] });
      this.hardwareVersion = [...id.hardware_version];
      this.initialHardware = [...id.hardware_version];
    }
    if (id.device_id) this.deviceId = [...Buffer.from(id.device_id, 'hex')];
  }

  /** The physical power button: mirrored to the host, and a press wakes a powered-down controller. */
  button(action: 'click' | 'press' | 'release'): void {
    this.sync();
    if (action === 'release') return;
    this.host.button(this.t);
    if (this.alive(this.t)) this.sm.post({ kind: 'button-press' });
  }

  /** The OS halts (the engine's poweroff action in simulator mode). */
  haltHost(): void {
    this.sync();
    this.host.halt(this.t);
  }

  /** `rtcwake -m no -t <unix s>` in simulator mode. */
  setRtcAlarm(unixSeconds: number | null): void {
    this.sync();
    this.host.rtcAlarm = unixSeconds;
  }

  /** The controller stops answering for `ms` (hang, swap, brown-out). */
  silence(ms: number): void {
    this.sync();
    this.silentUntil = Math.max(this.silentUntil, this.t + ms);
  }

  addFault(rule: FaultRuleInput): FaultRule {
    return this.faults.add(rule);
  }

  get state(): PowerState {
    this.sync();
    return this.sm.state;
  }

  /** The watchdog timeout the controller's state machine is using. */
  get watchdogActiveMs(): number {
    this.sync();
    return this.sm.watchdogMs;
  }

  snapshot(): SimSnapshot {
    this.sync();
    const p = this.physics;
    const s = this.settings;
    return {
      controller: {
        state: this.sm.state,
        rails_on: this.railsOn,
        usb: this.usb,
        watchdog_ms: this.watchdogCopy,
        led_brightness: s.led_brightness,
        auto_restart: s.auto_restart,
        power_on_threshold: s.power_on_threshold,
        solo_power_off_threshold: s.solo_power_off_threshold,
        solo_depleting_timeout_ms: s.solo_depleting_timeout_ms,
        dfu_status: this.dfu.status,
        dfu_blocks_written: this.dfu.blocksWritten,
        firmware_version: formatVersion(this.firmwareVersion),
        hardware_version: formatVersion(this.hardwareVersion),
        device_id: Buffer.from(this.deviceId).toString('hex'),
        pending_swap: this.pendingSwap,
      },
      inputs: { V_in: p.vin, V_cap: p.vcap, I_in: p.current(this.loads()), T_mcu: p.tMcu, T_pcb: p.tPcb },
      host: {
        cm_on: this.host.cmOn,
        load_W: this.host.loadW,
        boot_delay_s: this.host.bootDelayS,
        halt_delay_s: this.host.haltDelayS,
        rtc_alarm: this.host.rtcAlarm,
      },
      faults: this.faults.list(),
    };
  }

  /** The last transactions and events, oldest first. */
  get log(): TransactionLogEntry[] {
    return this.transactions.list();
  }

  private record(kind: TransactionLogEntry['kind'], reg: number | undefined, bytes: Uint8Array, result: string): void {
    this.transactions.add(this.clock.now(), kind, reg, bytes, result);
  }

  private trace(kind: 'transition' | 'reset', text: string): void {
    debug(text);
    this.transactions.add(this.t, kind, undefined, undefined, text);
  }
}

// Registers' values as new arrays filled by index: Uint8Array.of is a generic builtin that V8's
// optimising compiler calls instead of inlining, and the tick reads a register ten times a second.

/** Arrays a read answered at once (readNow) is given in, reused by the next such read. */
interface AnswerBuffers {
  readonly b1: Uint8Array;
  readonly b2: Uint8Array;
  readonly b4: Uint8Array;
}

function byte(into: AnswerBuffers | undefined, v: number): Uint8Array {
  const out = into ? into.b1 : new Uint8Array(1);
  out[0] = v;
  return out;
}

function u16(into: AnswerBuffers | undefined, v: number): Uint8Array {
  const out = into ? into.b2 : new Uint8Array(2);
  out[0] = v >>> 8;
  out[1] = v;
  return out;
}

function u32(into: AnswerBuffers | undefined, v: number): Uint8Array {
  const out = into ? into.b4 : new Uint8Array(4);
  out[0] = v >>> 24;
  out[1] = v >>> 16;
  out[2] = v >>> 8;
  out[3] = v;
  return out;
}

function be(data: Uint8Array, offset: number, len: number): number {
  let v = 0;
  for (let i = 0; i < len; i++) v = v * 256 + (data[offset + i] ?? 0);
  return v;
}
