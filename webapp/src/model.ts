// What the panel shows, whatever serves it (halpid's web listener or Signal K): one shape, in
// halpid's API units (V, A, K, s; LED brightness 0–255), filled by a source adapter.

export type UsbPorts = [boolean, boolean, boolean, boolean];

export interface ControllerConfig {
  watchdog_timeout: number;
  power_on_threshold: number;
  solo_power_off_threshold: number;
  led_brightness: number;
  auto_restart: boolean;
  solo_depleting_timeout: number;
}

export interface PanelData {
  V_in: number | null;
  V_cap: number | null;
  I_in: number | null;
  T_mcu: number | null;
  T_pcb: number | null;
  state: string | null;
  daemonState: string | null;
  watchdogTimeout: number | null;
  watchdogEnabled: boolean | null;
  watchdogElapsed: number | null;
  output5v: boolean | null;
  usb: UsbPorts | null;
  config: ControllerConfig | null;
  daemonVersion: string | null;
  hardwareVersion: string | null;
  firmwareVersion: string | null;
  deviceId: string | null;
  /** Unix ms at which the shutdown comes, while running on the supercap and it is known. */
  shutdownAt: number | null;
  /** The supercap as the host computes it (halpid's `supply` event, the plugin's supercap.* paths). */
  supply: Supply | null;
  /** The shutdown after a blackout has begun. */
  shuttingDown: boolean;
  voltageLimit: number | null;
  simulator: boolean;
  /** The controller does not answer on its bus (halpid): when its watchdog will power-cycle the computer. */
  controllerDown: { powerCycleAt: number | null; error: string | null } | null;
  /** Active notifications (Signal K), most severe first. */
  alerts: Array<{ state: string; message: string }>;
}

export const EMPTY: PanelData = {
  V_in: null,
  V_cap: null,
  I_in: null,
  T_mcu: null,
  T_pcb: null,
  state: null,
  daemonState: null,
  watchdogTimeout: null,
  watchdogEnabled: null,
  watchdogElapsed: null,
  output5v: null,
  usb: null,
  config: null,
  daemonVersion: null,
  hardwareVersion: null,
  firmwareVersion: null,
  deviceId: null,
  shutdownAt: null,
  supply: null,
  shuttingDown: false,
  voltageLimit: null,
  simulator: false,
  controllerDown: null,
  alerts: [],
};

export interface Supply {
  /** Usable energy left, % of a full charge. */
  charge: number | null;
  /** Seconds the supercap carries the computer as the daemon uses it. */
  runtime: number | null;
  /** In a blackout: what the supercap delivers, once measured (W, A). */
  power: number | null;
  current: number | null;
}

export interface Access {
  write: boolean;
  /** halpid: a web token would allow writes. */
  token?: boolean;
  /** Signal K: where to log in. */
  login?: string;
}

export interface SimControls {
  power(on: boolean): Promise<void>;
  inputVoltage(volts: number): Promise<void>;
  fault(kind: 'nack' | 'timeout' | 'corrupt'): Promise<void>;
  clearFaults(): Promise<void>;
}

export interface Status {
  connected: boolean;
  message: string;
}

/** A data source: reads and writes through halpid's API or Signal K's. Writes reject with the server's message. */
export interface Source {
  readonly name: 'halpid' | 'signalk';
  connect(update: (patch: Partial<PanelData>) => void, status: (s: Status) => void): void;
  access(): Promise<Access>;
  setUsb(port: number, on: boolean): Promise<void>;
  /** `value` in halpid's units, already checked against the setting's range (settings.ts). */
  setConfig(key: keyof ControllerConfig, value: number | boolean): Promise<void>;
  /** The setting as the controller holds it now, read again from the server. */
  readConfig(key: keyof ControllerConfig): Promise<number | boolean | null>;
  shutdown(): Promise<void>;
  standby(delaySeconds: number): Promise<void>;
  sim: SimControls;
  setToken?(token: string): void;
}

/** Error thrown by writes; `status` is the HTTP status. */
export class WriteError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * The shutdown deadline from a new count of the seconds left (received at `now + count`): earlier
 * than the one held, or later by less than LATE_COUNT_MS, the earlier of the two, so the timer
 * never steps back up. A count that arrived late (Signal K sends a subscription's values up to a
 * second after they were read, and a busy server or browser adds to that: seen 1–2 s) only puts the
 * deadline later than it is: the earliest estimate is the truest, and a timer that says more time
 * than there is would be the wrong way to err. Later by more: a new blackout's deadline (power
 * came back and went again between two counts).
 */
export function steadyDeadline(prev: number | null, next: number | null): number | null {
  if (prev === null || next === null) return next;
  return next - prev < LATE_COUNT_MS ? Math.min(prev, next) : next;
}

/** How late a count may arrive and still be taken for the deadline held (see steadyDeadline). */
export const LATE_COUNT_MS = 3000;

/** A count of seconds as received (`value`) and when, on the browser's clock (ms). */
export interface SeenCount {
  value: number;
  at: number;
}

/** The count as last received: a new value starts it again; the same one keeps its time. */
export function countSeen(prev: SeenCount | null, value: number | null, now: number): SeenCount | null {
  if (value === null) return null;
  return prev?.value === value ? prev : { value, at: now };
}

/** What is left of a count at `now`: it runs down between two receptions, never below 0. */
export function countLeft(seen: SeenCount | null, now: number): number | null {
  return seen === null ? null : Math.max(0, seen.value - (now - seen.at) / 1000);
}

export type Tone = 'ok' | 'caution' | 'danger' | 'unknown';

/** The colours of `halpi status`: green for co-operative operation, yellow for the quiet states, red otherwise. */
export function stateTone(state: string | null): Tone {
  if (!state) return 'unknown';
  if (state === 'OperationalCoOp') return 'ok';
  if (['OperationalSolo', 'SystemStartup', 'OffCharging', 'EnteringStandby', 'Standby'].includes(state))
    return 'caution';
  return 'danger';
}

export function daemonTone(state: string | null): Tone {
  if (!state) return 'unknown';
  if (state === 'OK') return 'ok';
  if (state === 'START') return 'caution';
  return 'danger';
}

export const kelvinToCelsius = (k: number | null): number | null => (k === null ? null : k - 273.15);

export function fixed(v: number | null, digits: number): string {
  return v === null || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}
