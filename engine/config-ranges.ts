// The values each controller setting may take (docs/api.md, /config). The wire API keeps halpid
// 5.0.2's conversions (led_brightness modulo 256, seconds clamped), so clients check these ranges
// before they write, and then show what the controller holds.

import type { ConfigKey } from './device.js';

export interface ConfigRange {
  min: number;
  max: number;
  unit: string;
  /** 0 is allowed besides the range (the watchdog's "off"). */
  zeroOff?: boolean;
  integer?: boolean;
  /** What a value must be, for an error message: "an integer from 0 to 255". */
  rule: string;
}

const range = (min: number, max: number, unit: string, extra: Partial<ConfigRange> = {}): ConfigRange => ({
  min,
  max,
  unit,
  ...extra,
  rule: extra.rule ?? `${extra.integer ? 'an integer' : 'a number'} from ${min} to ${max}${unit ? ` ${unit}` : ''}`,
});

export const CONFIG_RANGES: Readonly<Record<Exclude<ConfigKey, 'auto_restart'>, ConfigRange>> = {
  // Below 10 s a busy host could miss the watchdog and be power-cycled; 65.535 s is the register's top.
  watchdog_timeout: range(10, 65.535, 's', { zeroOff: true, rule: '0 (off) or a number from 10 to 65.535 s' }),
  power_on_threshold: range(5, 10, 'V'),
  solo_power_off_threshold: range(4.5, 10, 'V'),
  led_brightness: range(0, 255, '', { integer: true }),
  solo_depleting_timeout: range(0, 60, 's'),
};

/** Null when `value` may be written to `key`, else the rule it breaks. Unknown keys are not judged here. */
export function configValueProblem(key: string, value: unknown): string | null {
  if (key === 'auto_restart') return typeof value === 'boolean' ? null : 'true or false';
  const r = (CONFIG_RANGES as Record<string, ConfigRange | undefined>)[key];
  if (!r) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) return r.rule;
  if (r.zeroOff && value === 0) return null;
  if (value < r.min || value > r.max || (r.integer && !Number.isInteger(value))) return r.rule;
  return null;
}
