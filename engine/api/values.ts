// The /values and /config objects in both dialects (docs/api.md).

import type { ControllerConfig, Measurements } from '../device.js';
import type { ValuesSnapshot } from '../engine.js';
import { float, type Out } from './json-write.js';

/** Dialect 4 decodes in double precision (halpid 4.0.7). */
const d4 = {
  V_in: (raw: number) => (40 * raw) / 65536,
  V_cap: (raw: number) => (11 * raw) / 65536,
  I_in: (raw: number) => (3.3 * raw) / 65536,
  T: (raw: number) => (140 * raw) / 65536 + 233.14999999999998,
  elapsed: (b: number) => 0.1 * b,
};

export const MEASUREMENT_KEYS = ['V_in', 'V_cap', 'I_in', 'T_mcu', 'T_pcb', 'state', 'watchdog_elapsed'] as const;

export function measurementField(m: Measurements, key: string, dialect: 5 | 4): Out {
  if (dialect === 4) {
    switch (key) {
      case 'V_in':
        return float(d4.V_in(m.raw.V_in));
      case 'V_supercap':
        return float(d4.V_cap(m.raw.V_cap));
      case 'I_in':
        return float(d4.I_in(m.raw.I_in));
      case 'T_mcu':
        return float(d4.T(m.raw.T_mcu));
      case 'T_pcb':
        return float(d4.T(m.raw.T_pcb));
      case 'watchdog_elapsed':
        return float(d4.elapsed(m.raw.watchdog_elapsed));
      case 'state':
        return m.state;
    }
  }
  switch (key) {
    case 'V_in':
      return float(m.V_in);
    case 'V_cap':
      return float(m.V_cap);
    case 'I_in':
      return float(m.I_in);
    case 'T_mcu':
      return float(m.T_mcu);
    case 'T_pcb':
      return float(m.T_pcb);
    case 'watchdog_elapsed':
      return float(m.watchdog_elapsed);
    default:
      return m.state;
  }
}

export function valuesObject(v: ValuesSnapshot, version: string, dialect: 5 | 4): Out {
  if (dialect === 4) {
    return {
      V_in: measurementField(v, 'V_in', 4),
      V_supercap: measurementField(v, 'V_supercap', 4),
      I_in: measurementField(v, 'I_in', 4),
      T_mcu: measurementField(v, 'T_mcu', 4),
      T_pcb: measurementField(v, 'T_pcb', 4),
      state: v.state,
      '5v_output_enabled': v['5v_output_enabled'],
      usb_port_state: v.usb_port_state ?? 0,
      watchdog_enabled: v.watchdog_enabled,
      watchdog_timeout: float(v.watchdog_timeout),
      watchdog_elapsed: measurementField(v, 'watchdog_elapsed', 4),
      hardware_version: v.hardware_version,
      firmware_version: v.firmware_version,
      daemon_version: version,
      device_id: v.device_id,
    };
  }
  return {
    '5v_output_enabled': v['5v_output_enabled'],
    I_in: float(v.I_in),
    T_mcu: float(v.T_mcu),
    T_pcb: float(v.T_pcb),
    V_cap: float(v.V_cap),
    V_in: float(v.V_in),
    daemon_version: version,
    device_id: v.device_id,
    firmware_version: v.firmware_version,
    hardware_version: v.hardware_version,
    state: v.state,
    watchdog_elapsed: float(v.watchdog_elapsed),
    watchdog_enabled: v.watchdog_enabled,
    watchdog_timeout: float(v.watchdog_timeout),
  };
}

export function configField(c: ControllerConfig, key: keyof ControllerConfig): Out {
  const v = c[key];
  if (key === 'led_brightness') return v as number;
  if (key === 'auto_restart') return v as boolean;
  return float(v as number);
}

export function configObject(c: ControllerConfig): Out {
  // Insertion order is dialect 4's; dialect 5 sorts.
  return {
    watchdog_timeout: configField(c, 'watchdog_timeout'),
    power_on_threshold: configField(c, 'power_on_threshold'),
    solo_power_off_threshold: configField(c, 'solo_power_off_threshold'),
    led_brightness: configField(c, 'led_brightness'),
    auto_restart: configField(c, 'auto_restart'),
    solo_depleting_timeout: configField(c, 'solo_depleting_timeout'),
  };
}
