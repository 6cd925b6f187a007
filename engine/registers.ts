// HALPI2 controller register map (firmware 3.x) and the host-side encodings of halpid 5.0.2.
// Every conversion rounds to float32 at each step, exactly as docs/api.md writes it, so the
// printed values match halpid 5.0.2 digit for digit.

const f = Math.fround;

export const Reg = {
  LEGACY_HW_VERSION: 0x01,
  LEGACY_FW_VERSION: 0x02,
  HARDWARE_VERSION: 0x03,
  FIRMWARE_VERSION: 0x04,
  POWER_GOOD_5V: 0x10,
  WATCHDOG_TIMEOUT: 0x12,
  POWER_ON_THRESHOLD: 0x13,
  SOLO_POWER_OFF_THRESHOLD: 0x14,
  POWER_STATE: 0x15,
  WATCHDOG_ELAPSED: 0x16,
  LED_BRIGHTNESS: 0x17,
  AUTO_RESTART: 0x18,
  SOLO_DEPLETING_TIMEOUT: 0x19,
  USB_PORTS: 0x1a,
  V_IN: 0x20,
  V_CAP: 0x21,
  I_IN: 0x22,
  T_MCU: 0x23,
  T_PCB: 0x24,
  DEVICE_ID: 0x25,
  REQUEST_SHUTDOWN: 0x30,
  REQUEST_STANDBY: 0x31,
  DFU_START: 0x40,
  DFU_STATUS: 0x41,
  DFU_BLOCKS_WRITTEN: 0x42,
  DFU_BLOCK: 0x43,
  DFU_COMMIT: 0x44,
  DFU_ABORT: 0x45,
  VIN_CORRECTION: 0x50,
  VSCAP_CORRECTION: 0x51,
  IIN_CORRECTION: 0x52,
  LED_OVERRIDE: 0x60,
} as const;

/** Power-state names by register 0x15 value (docs/api.md). */
export const POWER_STATES = [
  'PowerOff',
  'OffCharging',
  'SystemStartup',
  'OperationalSolo',
  'OperationalCoOp',
  'BlackoutSolo',
  'BlackoutCoOp',
  'BlackoutShutdown',
  'ManualShutdown',
  'PoweredDownBlackout',
  'PoweredDownManual',
  'HostUnresponsive',
  'EnteringStandby',
  'Standby',
] as const;
export type PowerState = (typeof POWER_STATES)[number];

/** DFU status names by register 0x41 value (docs/controller.md). */
export const DFU_STATES = [
  'Idle',
  'Preparing',
  'Updating',
  'QueueFull',
  'ReadyToCommit',
  'CrcError',
  'DataLengthError',
  'WriteError',
  'ProtocolError',
] as const;
export type DfuState = (typeof DFU_STATES)[number];

export const DfuStateNum = Object.fromEntries(DFU_STATES.map((n, i) => [n, i])) as Record<DfuState, number>;

/** A value read from the controller that has no meaning (not an I/O failure, so never retried). */
export class DecodeError extends Error {
  override name = 'DecodeError';
}

export function powerStateName(value: number): PowerState {
  const name = POWER_STATES[value];
  if (name === undefined) throw new DecodeError(`Invalid power state value: ${value}`);
  return name;
}

export function dfuStateName(value: number): DfuState {
  const name = DFU_STATES[value];
  if (name === undefined) throw new DecodeError(`Invalid DFU state value: ${value}`);
  return name;
}

// --- Host decode (register → value), docs/api.md ---

export const T_MIN = f(f(273.15) - 40); // 233.14999389648438
export const T_RANGE = f(f(f(273.15) + 100) - T_MIN); // 140

export const decodeVin = (raw: number): number => f(f(40 * raw) / 65536);
export const decodeVcap = (raw: number): number => f(f(11 * raw) / 65536);
export const decodeIin = (raw: number): number => f(f(f(3.3) * raw) / 65536);
export const decodeTemperature = (raw: number): number => f(f(f(T_RANGE * raw) / 65536) + T_MIN);
export const decodeWatchdogElapsed = (byte: number): number => f(byte * f(0.1));
export const decodeThreshold = decodeVcap;
/** Milliseconds to seconds in double precision (0x12, 0x19). */
export const decodeMillis = (ms: number): number => ms / 1000;

// --- Host encode (value → register), docs/api.md ---

/** Truncate toward zero, clamp to 0…max; NaN → 0. */
export function truncSat(x: number, max: number): number {
  if (Number.isNaN(x)) return 0;
  const t = Math.trunc(x);
  if (t < 0) return 0;
  return t > max ? max : t;
}

export const encodeThreshold = (volts: number): number => truncSat(f(f(65536 * f(volts)) / 11), 65535);
export const encodeMillis16 = (seconds: number): number => truncSat(seconds * 1000, 65535);
export const encodeMillis32 = (seconds: number): number => truncSat(seconds * 1000, 4294967295);

/** `led_brightness` is reduced modulo 256 on the exact decimal value. */
export function encodeBrightness(value: bigint | number): number {
  const big = BigInt(value); // a bigint stays exact
  return Number(((big % 256n) + 256n) % 256n);
}

// --- Identity formatting, docs/api.md ---

export function formatVersion(bytes: ArrayLike<number>): string {
  const [major, minor, patch, alpha] = [bytes[0] ?? 0, bytes[1] ?? 0, bytes[2] ?? 0, bytes[3] ?? 0];
  if (major === 255 || (major === 0 && minor === 0 && patch === 255 && alpha === 255)) return 'N/A';
  const base = `${major}.${minor}.${patch}`;
  return alpha === 255 ? base : `${base}-a${alpha}`;
}

export function formatDeviceId(bytes: ArrayLike<number>): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += (bytes[i] ?? 0).toString(16).padStart(2, '0');
  return out;
}

export const hex2 = (reg: number): string => `0x${reg.toString(16).toUpperCase().padStart(2, '0')}`;
