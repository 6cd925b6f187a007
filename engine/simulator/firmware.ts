// The controller firmware's power state machine (docs/controller.md): 14 states, a 50 ms
// tick, strict timeouts, the host watchdog. Events queued by the I2C side are processed on the
// next tick, in arrival order, then the CM_ON edge, then over-voltage, then the tick itself.

import { POWER_STATES, type PowerState } from '../registers.js';

export const TICK_MS = 50;
export const SHUTDOWN_WAIT_MS = 60_000;
export const UNRESPONSIVE_GRACE_MS = 5_000;
export const POWERED_DOWN_MS = 5_000;
export const OVERVOLTAGE_V = 10.6;
const EVENT_QUEUE_CAPACITY = 16;

export type FirmwareEvent =
  | { kind: 'off' }
  | { kind: 'set-watchdog'; ms: number }
  | { kind: 'shutdown' }
  | { kind: 'standby' }
  | { kind: 'button-press' };

/** What the state machine reads from and does to the rest of the board. */
export interface Board {
  readonly vin: number; // averaged, after the back-feed heuristic
  readonly vcap: number;
  readonly cmOnSample: boolean;
  readonly pg5v: boolean;
  readonly powerOnThreshold: number;
  readonly soloDepletingMs: number;
  readonly autoRestart: boolean;
  setRails(on: boolean): void;
  setUsb(bits: number): void;
  doubleClickHost(): void;
  mcuReset(): void;
  onTransition(from: PowerState, to: PowerState): void;
}

const VIN_THRESHOLD = 9.0;
/**
 * The states in which the host is powered on. A switch, not a Set: the tick asks at every step,
 * and comparing interned strings costs less than hashing one (1 % of an idle daemon's tick).
 */
function poweredOnIn(s: PowerState): boolean {
  switch (s) {
    case 'OperationalSolo':
    case 'OperationalCoOp':
    case 'BlackoutSolo':
    case 'BlackoutCoOp':
    case 'HostUnresponsive':
      return true;
    default:
      return false;
  }
}

export class PowerStateMachine {
  state: PowerState = 'PowerOff';
  /** Watchdog timeout the state machine uses (not the 0x12 read-back copy). */
  watchdogMs = 0;
  lastPing = 0;
  overvoltageLatched = false;
  private enteredAt = 0;
  private prevCmOn = false;
  private pendingPing = false;
  private queue: FirmwareEvent[] = [];

  constructor(private readonly board: Board) {}

  get stateNumber(): number {
    return POWER_STATES.indexOf(this.state);
  }

  get poweredOn(): boolean {
    return poweredOnIn(this.state);
  }

  /** Start in a given state with the given CM_ON history (daemon simulator mode, MCU reset). */
  init(state: PowerState, now: number, cmOn: boolean): void {
    this.state = state;
    this.enteredAt = now;
    this.prevCmOn = cmOn;
    this.queue = [];
    this.pendingPing = false;
    this.watchdogMs = 0;
    this.lastPing = now;
    this.overvoltageLatched = false;
  }

  /** Queue an event for the next tick; false when the queue (16) is full and it is dropped. */
  post(event: FirmwareEvent): boolean {
    if (this.queue.length >= EVENT_QUEUE_CAPACITY) return false;
    this.queue.push(event);
    return true;
  }

  /** Handle an event at once instead of on the next tick (the 0x10 hard power-down). */
  immediate(event: FirmwareEvent, now: number): void {
    this.handleEvent(event, now);
  }

  /** Every processed transaction pings the watchdog. */
  ping(now: number): void {
    if (this.poweredOn) this.lastPing = now;
    this.pendingPing = true;
  }

  tick(now: number): void {
    if (this.queue.length > 0) {
      // Events queued while these are handled wait for the next tick; an idle tick makes no array.
      const events = this.queue;
      this.queue = [];
      for (const ev of events) this.handleEvent(ev, now);
    }
    if (this.pendingPing) {
      this.pendingPing = false;
      if (this.state === 'HostUnresponsive') {
        this.lastPing = now;
        this.go('OperationalCoOp', now);
      }
    }
    const cm = this.board.cmOnSample;
    if (cm !== this.prevCmOn) {
      this.prevCmOn = cm;
      if (cm) this.cmRising(now);
      else this.cmFalling(now);
    }
    if (this.poweredOn && this.board.vcap > OVERVOLTAGE_V) this.overvoltageLatched = true;
    this.onTick(now);
  }

  private elapsed(now: number): number {
    return now - this.enteredAt;
  }

  private go(to: PowerState, now: number): void {
    const from = this.state;
    this.state = to;
    this.enteredAt = now;
    const b = this.board;
    switch (to) {
      case 'PowerOff':
      case 'PoweredDownBlackout':
      case 'PoweredDownManual':
        b.setRails(false);
        b.setUsb(0);
        break;
      case 'SystemStartup':
        b.setRails(true);
        b.setUsb(0x0f);
        break;
      case 'OperationalSolo':
        if (from !== 'BlackoutSolo') this.watchdogMs = 0;
        break;
      case 'BlackoutShutdown':
        if (from === 'BlackoutSolo') b.doubleClickHost();
        break;
      default:
        break;
    }
    b.onTransition(from, to);
  }

  private handleEvent(ev: FirmwareEvent, now: number): void {
    const s = this.state;
    switch (ev.kind) {
      case 'off':
        if (poweredOnIn(s) && this.board.pg5v) this.go('PoweredDownManual', now);
        return;
      case 'set-watchdog':
        if (s === 'OperationalSolo' && ev.ms > 0) {
          this.watchdogMs = ev.ms;
          this.lastPing = now;
          this.go('OperationalCoOp', now);
        } else if (s === 'OperationalCoOp') {
          this.watchdogMs = ev.ms;
          if (ev.ms === 0) this.go('OperationalSolo', now);
        }
        return;
      case 'shutdown':
        if (s === 'OperationalSolo' || s === 'OperationalCoOp') this.go('ManualShutdown', now);
        else if (s === 'BlackoutCoOp') this.go('BlackoutShutdown', now);
        return;
      case 'standby':
        if (s === 'OperationalSolo' || s === 'OperationalCoOp') this.go('EnteringStandby', now);
        return;
      case 'button-press':
        if (s === 'PoweredDownBlackout' || s === 'PoweredDownManual') this.board.mcuReset();
        return;
    }
  }

  private cmRising(now: number): void {
    if (this.state === 'SystemStartup' || this.state === 'Standby') this.go('OperationalSolo', now);
  }

  private cmFalling(now: number): void {
    const s = this.state;
    if (poweredOnIn(s)) this.go('PoweredDownManual', now);
    else if (s === 'BlackoutShutdown') this.go('PoweredDownBlackout', now);
    else if (s === 'ManualShutdown') this.go('PoweredDownManual', now);
    else if (s === 'EnteringStandby') this.go('Standby', now);
  }

  private onTick(now: number): void {
    const b = this.board;
    const present = b.vin > VIN_THRESHOLD;
    const t = this.elapsed(now);
    switch (this.state) {
      case 'PowerOff':
        if (present) this.go('OffCharging', now);
        break;
      case 'OffCharging':
        if (!present) this.go('PowerOff', now);
        else if (b.vcap >= b.powerOnThreshold) this.go('SystemStartup', now);
        break;
      case 'SystemStartup':
        if (!present) this.go('PowerOff', now);
        break;
      case 'OperationalSolo':
        if (!present) this.go('BlackoutSolo', now);
        break;
      case 'OperationalCoOp':
        if (!present) this.go('BlackoutCoOp', now);
        else if (now - this.lastPing > this.watchdogMs) this.go('HostUnresponsive', now);
        break;
      case 'BlackoutSolo':
        if (present) this.go('OperationalSolo', now);
        else if (t > b.soloDepletingMs) this.go('BlackoutShutdown', now);
        break;
      case 'BlackoutCoOp':
        if (present) this.go('OperationalCoOp', now);
        break;
      case 'BlackoutShutdown':
        if (t > SHUTDOWN_WAIT_MS) this.go('PoweredDownBlackout', now);
        break;
      case 'ManualShutdown':
        if (t > SHUTDOWN_WAIT_MS) this.go('PoweredDownManual', now);
        break;
      case 'HostUnresponsive':
        if (t > UNRESPONSIVE_GRACE_MS) this.go('PoweredDownBlackout', now);
        break;
      case 'PoweredDownBlackout':
        if (t > POWERED_DOWN_MS) b.mcuReset();
        break;
      case 'PoweredDownManual':
        if (!present) b.mcuReset();
        else if (t > POWERED_DOWN_MS && b.autoRestart) b.mcuReset();
        break;
      case 'EnteringStandby':
        if (t > SHUTDOWN_WAIT_MS) this.go('Standby', now);
        break;
      case 'Standby':
        break;
    }
  }
}
