// The controller settings the panel can change, with the range each one really takes
// (docs/controller.md, docs/api.md). The API stores what the registers hold (LED brightness 300
// becomes 44, modulo 256; a 5 s watchdog is taken), so the panel checks before it sends and
// refuses what the controller would not keep as typed.

import type { ControllerConfig } from './model.js';

export interface Field {
  key: keyof ControllerConfig;
  /** The Signal K leaf below the prefix. */
  leaf: string;
  label: string;
  unit: string;
  hint: string;
}

export const FIELDS: Field[] = [
  {
    key: 'power_on_threshold',
    leaf: 'config.powerOnThreshold',
    label: 'Power-on threshold',
    unit: 'V',
    hint: '5–10 V',
  },
  {
    key: 'solo_power_off_threshold',
    leaf: 'config.soloPowerOffThreshold',
    label: 'Solo power-off threshold',
    unit: 'V',
    hint: '4.5–10 V',
  },
  {
    key: 'solo_depleting_timeout',
    leaf: 'config.soloDepletingTimeout',
    label: 'Solo blackout timeout',
    unit: 's',
    hint: '0–60 s',
  },
  {
    key: 'watchdog_timeout',
    leaf: 'watchdog.timeout',
    label: 'Watchdog timeout',
    unit: 's',
    hint: '0 = off, else 10–65.535 s',
  },
  {
    key: 'led_brightness',
    leaf: 'config.ledBrightness',
    label: 'LED brightness',
    unit: '',
    hint: 'a whole number, 0–255',
  },
  {
    key: 'auto_restart',
    leaf: 'config.autoRestart',
    label: 'Restart when power returns',
    unit: '',
    hint: 'true or false',
  },
];

export type Checked = { ok: true; value: number | boolean } | { ok: false; error: string };

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

function range(text: string, min: number, max: number, what: string, unit: string, decimals: number): Checked {
  if (!NUMBER.test(text)) return { ok: false, error: `${what} must be a number from ${min} to ${max}${unit}` };
  const n = Number(text);
  if (n < min || n > max)
    return { ok: false, error: `${what} must be from ${min} to ${max}${unit}; ${text} is out of range` };
  // More digits than the register keeps would be silently cut: say so instead.
  const frac = text.split('.')[1] ?? '';
  if (frac.length > decimals) return { ok: false, error: `${what} takes at most ${decimals} decimals` }; // every setting takes 2 or 3
  return { ok: true, value: n };
}

/** Whether `text` is a value the controller keeps as typed, and that value in API units. */
export function check(key: keyof ControllerConfig, raw: string): Checked {
  const text = raw.trim();
  if (text === '') return { ok: false, error: 'Enter a value' };
  switch (key) {
    case 'led_brightness':
      if (!/^\d+$/.test(text)) return { ok: false, error: 'LED brightness must be a whole number from 0 to 255' };
      if (Number(text) > 255)
        return { ok: false, error: `LED brightness must be from 0 to 255; ${text} is out of range` };
      return { ok: true, value: Number(text) };
    case 'watchdog_timeout': {
      const r = range(text, 0, 65.535, 'The watchdog timeout', ' s', 3);
      if (r.ok && r.value !== 0 && (r.value as number) < 10) {
        return {
          ok: false,
          error:
            'The watchdog timeout must be 0 (off) or from 10 to 65.535 s: a shorter one power-cycles a busy computer',
        };
      }
      return r;
    }
    case 'power_on_threshold':
      return range(text, 5, 10, 'The power-on threshold', ' V', 2);
    case 'solo_power_off_threshold':
      return range(text, 4.5, 10, 'The solo power-off threshold', ' V', 2);
    case 'solo_depleting_timeout':
      return range(text, 0, 60, 'The solo blackout timeout', ' s', 3);
    case 'auto_restart':
      if (text === 'true' || text === 'false') return { ok: true, value: text === 'true' };
      return { ok: false, error: 'Restart when power returns must be true or false' };
  }
}

/** A setting as the panel shows it: thresholds are float32 on the wire (7.99974…), shown as the controller rounds them. */
export function show(f: Field, v: number | boolean): string {
  return typeof v === 'number' && f.unit === 'V' ? v.toFixed(2) : String(v);
}
