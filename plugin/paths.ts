// The Signal K paths (docs/signalk.md): the signalk-halpi leaf names kept, the new ones added,
// SI units, and the metadata of each path. Pure: no server, no clock.

import type { ControllerConfig } from '../engine/device.js';
import { POWER_STATES } from '../engine/registers.js';
import type { PluginOptions } from './options.js';

export type Group = 'measurement' | 'discrete' | 'identity';

/** What the plugin knows about the controller and the daemon at one moment, in API units. */
export interface Model {
  V_in?: number;
  V_cap?: number;
  I_in?: number;
  T_mcu?: number;
  T_pcb?: number;
  state?: string;
  watchdog_elapsed?: number;
  watchdog_timeout?: number;
  watchdog_enabled?: boolean;
  '5v_output_enabled'?: boolean;
  usb?: { usb0: boolean; usb1: boolean; usb2: boolean; usb3: boolean };
  daemon_state?: string;
  config?: ControllerConfig;
  daemon_version?: string;
  hardware_version?: string;
  firmware_version?: string;
  device_id?: string;
  mode?: 'client' | 'engine' | 'simulator';
  /** The supercap as halpid's `supply` event says it (engine/supply.ts); null fields: not applicable now. */
  supply?: SupplyModel;
}

export interface SupplyModel {
  charge: number | null;
  runtime: number | null;
  shutdown_in: number | null;
  shutting_down: boolean;
  power: number | null;
  current: number | null;
}

export interface PathSpec {
  /** Leaf below the prefix, e.g. `usb.port0`. */
  leaf: string;
  group: Group;
  value: (m: Model) => unknown;
  displayName: string;
  description: string;
  units?: string;
  displayScale?: [number, number];
}

const C = (m: Model) => m.config;
const nullOr = (v: number | null, f: (v: number) => number): number | null => (v === null ? null : f(v));

export const PATHS: readonly PathSpec[] = [
  {
    leaf: 'dcInputVoltage',
    group: 'measurement',
    value: (m) => m.V_in,
    displayName: 'HALPI2 input voltage',
    units: 'V',
    displayScale: [0, 32],
    description: 'Input voltage of the HALPI2 power supply',
  },
  {
    leaf: 'supercapVoltage',
    group: 'measurement',
    value: (m) => m.V_cap,
    displayName: 'HALPI2 supercap voltage',
    units: 'V',
    displayScale: [0, 11],
    description: 'Voltage of the supercapacitor that keeps the computer running through a power cut',
  },
  {
    leaf: 'inputCurrent',
    group: 'measurement',
    value: (m) => m.I_in,
    displayName: 'HALPI2 input current',
    units: 'A',
    displayScale: [0, 3.3],
    description: 'Input current of the HALPI2',
  },
  {
    leaf: 'inputPower',
    group: 'measurement',
    value: (m) => (m.V_in !== undefined && m.I_in !== undefined ? m.V_in * m.I_in : undefined),
    displayName: 'HALPI2 input power',
    units: 'W',
    displayScale: [0, 100],
    description: 'Input power, derived: input voltage × input current',
  },
  {
    leaf: 'supercap.stateOfCharge',
    group: 'measurement',
    value: (m) => (m.supply ? nullOr(m.supply.charge, (c) => c / 100) : undefined),
    displayName: 'HALPI2 supercap charge',
    units: 'ratio',
    displayScale: [0, 1],
    description: 'Usable energy left in the supercap, as a share of a full charge (0 at the solo power-off threshold)',
  },
  {
    leaf: 'supercap.timeRemaining',
    group: 'measurement',
    value: (m) => m.supply?.runtime,
    displayName: 'HALPI2 supercap runtime',
    units: 's',
    displayScale: [0, 60],
    description:
      'How long the supercap carries the computer: on input power the blackout time limit, in a blackout what is left of it (less when the supercap runs out sooner), 0 once the shutdown began',
  },
  {
    leaf: 'supercap.power',
    group: 'measurement',
    value: (m) => m.supply?.power,
    displayName: 'HALPI2 supercap power',
    units: 'W',
    displayScale: [0, 30],
    description: 'In a blackout, the power the supercap delivers (from its measured discharge); null otherwise',
  },
  {
    leaf: 'supercap.current',
    group: 'measurement',
    value: (m) => m.supply?.current,
    displayName: 'HALPI2 supercap current',
    units: 'A',
    displayScale: [0, 5],
    description: 'In a blackout, the current the supercap delivers (from its measured discharge); null otherwise',
  },
  {
    leaf: 'blackout.timeToShutdown',
    group: 'measurement',
    value: (m) => m.supply?.shutdown_in,
    displayName: 'HALPI2 time to shutdown',
    units: 's',
    displayScale: [0, 60],
    description: 'In a blackout, the seconds until the computer is shut down; null otherwise',
  },
  {
    leaf: 'blackout.shuttingDown',
    group: 'discrete',
    value: (m) => m.supply?.shutting_down,
    displayName: 'HALPI2 shutting down',
    description: 'The shutdown after a blackout has begun: the computer is halting, or has halted',
  },
  {
    leaf: 'mcuTemperature',
    group: 'measurement',
    value: (m) => m.T_mcu,
    displayName: 'HALPI2 controller temperature',
    units: 'K',
    displayScale: [233.15, 373.15],
    description: 'Temperature of the HALPI2 controller (RP2040)',
  },
  {
    leaf: 'pcbTemperature',
    group: 'measurement',
    value: (m) => m.T_pcb,
    displayName: 'HALPI2 board temperature',
    units: 'K',
    displayScale: [233.15, 373.15],
    description: 'Temperature of the HALPI2 circuit board',
  },
  {
    leaf: 'powerState',
    group: 'discrete',
    value: (m) => m.state,
    displayName: 'HALPI2 power state',
    description:
      `The controller's power state, one of ${POWER_STATES.join(', ')}. Operational*: powered; Blackout*: running on the supercap; ` +
      'BlackoutShutdown and ManualShutdown: shutting down; PoweredDown*, Standby: off; HostUnresponsive: the watchdog expired',
  },
  {
    leaf: 'watchdog.enabled',
    group: 'discrete',
    value: (m) => m.watchdog_enabled,
    displayName: 'HALPI2 watchdog enabled',
    description: "Whether the controller's watchdog is armed",
  },
  {
    leaf: 'watchdog.timeout',
    group: 'discrete',
    value: (m) => m.watchdog_timeout,
    displayName: 'HALPI2 watchdog timeout',
    units: 's',
    displayScale: [0, 65.535],
    description: 'The controller power-cycles the computer when nothing talks to it for this long (0 = off)',
  },
  {
    leaf: 'watchdog.elapsed',
    group: 'discrete',
    value: (m) => m.watchdog_elapsed,
    displayName: 'HALPI2 watchdog elapsed',
    units: 's',
    displayScale: [0, 65.535],
    description: 'Time since the controller last heard from the computer',
  },
  ...[0, 1, 2, 3].map((n): PathSpec => ({
    leaf: `usb.port${n}`,
    group: 'discrete',
    value: (m) => m.usb?.[`usb${n}` as 'usb0'],
    displayName: `HALPI2 USB port ${n}`,
    description: `Whether USB port ${n} is powered`,
  })),
  {
    leaf: 'output5v.enabled',
    group: 'discrete',
    value: (m) => m['5v_output_enabled'],
    displayName: 'HALPI2 5 V output',
    description: 'Whether the 5 V output is on',
  },
  {
    leaf: 'daemonState',
    group: 'discrete',
    value: (m) => m.daemon_state,
    displayName: 'HALPI2 daemon state',
    description: "The power manager's state: START, OK, BLACKOUT (running on the supercap), SHUTDOWN, DEAD (shut down)",
  },
  {
    leaf: 'config.powerOnThreshold',
    group: 'discrete',
    value: (m) => C(m)?.power_on_threshold,
    displayName: 'HALPI2 power-on threshold',
    units: 'V',
    displayScale: [0, 11],
    description: 'The supercap voltage at which the controller powers the computer on',
  },
  {
    leaf: 'config.soloPowerOffThreshold',
    group: 'discrete',
    value: (m) => C(m)?.solo_power_off_threshold,
    displayName: 'HALPI2 solo power-off threshold',
    units: 'V',
    displayScale: [0, 11],
    description: 'The supercap voltage at which the controller cuts the power when no daemon co-operates',
  },
  {
    leaf: 'config.ledBrightness',
    group: 'discrete',
    value: (m) => (C(m) ? C(m)!.led_brightness / 255 : undefined),
    displayName: 'HALPI2 LED brightness',
    units: 'ratio',
    displayScale: [0, 1],
    description: 'Brightness of the status LEDs',
  },
  {
    leaf: 'config.autoRestart',
    group: 'discrete',
    value: (m) => C(m)?.auto_restart,
    displayName: 'HALPI2 auto restart',
    description: 'Whether the computer starts again when the power returns after a shutdown',
  },
  {
    leaf: 'config.soloDepletingTimeout',
    group: 'discrete',
    value: (m) => C(m)?.solo_depleting_timeout,
    displayName: 'HALPI2 solo blackout timeout',
    units: 's',
    displayScale: [0, 60],
    description: 'How long the controller runs on the supercap in a power cut when no daemon co-operates',
  },
  {
    leaf: 'daemonVersion',
    group: 'identity',
    value: (m) => m.daemon_version,
    displayName: 'HALPI2 daemon version',
    description: 'Version of halpid, or of this plugin when it drives the controller itself',
  },
  {
    leaf: 'hardwareVersion',
    group: 'identity',
    value: (m) => m.hardware_version,
    displayName: 'HALPI2 hardware version',
    description: 'Hardware version of the HALPI2',
  },
  {
    leaf: 'firmwareVersion',
    group: 'identity',
    value: (m) => m.firmware_version,
    displayName: 'HALPI2 firmware version',
    description: 'Firmware version of the HALPI2 controller',
  },
  {
    leaf: 'deviceId',
    group: 'identity',
    value: (m) => m.device_id,
    displayName: 'HALPI2 device id',
    description: 'Unique id of the HALPI2 controller',
  },
  {
    leaf: 'mode',
    group: 'identity',
    value: (m) => m.mode,
    displayName: 'HALPI2 plugin mode',
    description: 'client: reading a running halpid; engine: driving the controller; simulator: a simulated controller',
  },
];

export interface Zone {
  lower?: number;
  upper?: number;
  state: 'nominal' | 'normal' | 'alert' | 'warn' | 'alarm' | 'emergency';
  message?: string;
}

/** Thresholds the zones depend on. */
export interface ZoneInputs {
  blackoutVoltageLimit: number;
  soloPowerOffThreshold: number;
  powerOnThreshold: number;
}

export const DEFAULT_ZONE_INPUTS: ZoneInputs = {
  blackoutVoltageLimit: 9.0,
  soloPowerOffThreshold: 5.5,
  powerOnThreshold: 8.0,
};

const CELSIUS = 273.15;

export function zonesFor(leaf: string, o: PluginOptions, z: ZoneInputs): Zone[] | undefined {
  const n = o.notifications;
  const temp = (warn: number, alarm: number, what: string): Zone[] | undefined =>
    n.temperatureZones
      ? [
          { lower: warn + CELSIUS, upper: alarm + CELSIUS, state: 'warn', message: `HALPI2 ${what} temperature high` },
          { lower: alarm + CELSIUS, state: 'alarm', message: `HALPI2 ${what} temperature too high` },
        ]
      : undefined;
  switch (leaf) {
    case 'dcInputVoltage':
      return [
        { lower: z.blackoutVoltageLimit, upper: 10.0, state: 'warn', message: 'HALPI2 input voltage low' },
        { lower: 32.0, state: 'warn', message: 'HALPI2 input voltage above 32 V' },
      ];
    case 'supercapVoltage':
      return [
        { upper: z.soloPowerOffThreshold, state: 'emergency', message: 'HALPI2 supercap nearly empty' },
        {
          lower: z.soloPowerOffThreshold,
          upper: z.powerOnThreshold,
          state: 'warn',
          message: 'HALPI2 supercap below the power-on threshold',
        },
        { lower: 10.6, state: 'alarm', message: 'HALPI2 supercap over-voltage' },
      ];
    case 'mcuTemperature':
      return temp(n.mcuTempWarn, n.mcuTempAlarm, 'controller');
    case 'pcbTemperature':
      return temp(n.pcbTempWarn, n.pcbTempAlarm, 'board');
    default:
      return undefined;
  }
}

export interface MetaEntry {
  path: string;
  value: Record<string, unknown>;
}

/** The metadata of every path (docs/signalk.md): units, names, scales, timeouts, zones. */
export function metaFor(o: PluginOptions, z: ZoneInputs, staleTimeoutS: number): MetaEntry[] {
  return PATHS.map((p) => {
    const value: Record<string, unknown> = { displayName: p.displayName, description: p.description };
    if (p.units) value.units = p.units;
    if (p.displayScale) value.displayScale = { lower: p.displayScale[0], upper: p.displayScale[1], type: 'linear' };
    if (p.group === 'measurement') {
      value.timeout = staleTimeoutS;
      value.updateContract = 'periodic';
    } else {
      value.updateContract = 'event';
    }
    const zones = zonesFor(p.leaf, o, z);
    if (zones) value.zones = zones;
    return { path: `${o.pathPrefix}.${p.leaf}`, value };
  });
}

/** The path/value pairs of `groups` that the model knows (undefined values are left out). */
export function valuesOf(prefix: string, m: Model, groups: readonly Group[]): Array<{ path: string; value: unknown }> {
  const out: Array<{ path: string; value: unknown }> = [];
  const full = fullPaths(prefix);
  for (let i = 0; i < PATHS.length; i++) {
    const p = PATHS[i]!;
    if (!groups.includes(p.group)) continue;
    const v = p.value(m);
    if (v !== undefined) out.push({ path: full[i]!, value: v });
  }
  return out;
}

/** The full path of every PATHS entry under the last prefix used: built once, not at every poll. */
let cachedPrefix: string | null = null;
let cachedPaths: string[] = [];
export function fullPaths(prefix: string): string[] {
  if (prefix !== cachedPrefix) {
    cachedPaths = PATHS.map((p) => `${prefix}.${p.leaf}`);
    cachedPrefix = prefix;
  }
  return cachedPaths;
}

/** Every measurement and discrete path set to null (stale data, stop). */
export function nullsOf(prefix: string): Array<{ path: string; value: null }> {
  return PATHS.filter((p) => p.group !== 'identity').map((p) => ({ path: `${prefix}.${p.leaf}`, value: null }));
}
