// Output formatting of halpi (docs/cli.md): round half to even on the exact binary value,
// the status and config tables, colours only where wanted.

/** Round the exact value of `x` to `decimals` places, ties to even (docs/cli.md). */
export function roundHalfEven(x: number, decimals: number): string {
  if (!Number.isFinite(x)) return String(x);
  const negative = x < 0 || Object.is(x, -0);
  // x = mantissa × 2^exp exactly.
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, Math.abs(x));
  const hi = buf.getUint32(0);
  const lo = buf.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (biased === 0) {
    exp = -1074;
  } else {
    mantissa |= 1n << 52n;
    exp = biased - 1075;
  }
  // value × 10^d = mantissa × 2^exp × 10^d = num / den
  let num = mantissa * 10n ** BigInt(decimals);
  let den = 1n;
  if (exp >= 0) num <<= BigInt(exp);
  else den <<= BigInt(-exp);
  let q = num / den;
  const r2 = (num % den) * 2n;
  if (r2 > den || (r2 === den && q % 2n === 1n)) q += 1n;
  let digits = q.toString();
  if (decimals > 0) {
    digits = digits.padStart(decimals + 1, '0');
    digits = `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
  }
  return negative && q !== 0n ? `-${digits}` : digits;
}

/** `config` values: 2 decimals, then trailing zeros and point removed. */
export function configNumber(x: number): string {
  const s = roundHalfEven(x, 2);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

const width = (s: string): number => [...s].length;
export const padEnd = (s: string, n: number): string => s + ' '.repeat(Math.max(0, n - width(s)));
export const padStart = (s: string, n: number): string => ' '.repeat(Math.max(0, n - width(s))) + s;

export interface Colours {
  red: (s: string) => string;
  boldRed: (s: string) => string;
  green: (s: string) => string;
  yellow: (s: string) => string;
}

const code = (open: string) => (s: string) => `\u001b[${open}m${s}\u001b[0m`;
const plain = (s: string) => s;

/** Colours for a stream: only on a TTY, never with NO_COLOR or --no-color. */
export function colours(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, noColor: boolean): Colours {
  const on = Boolean(stream.isTTY) && !env.NO_COLOR && !noColor;
  if (!on) return { red: plain, boldRed: plain, green: plain, yellow: plain };
  return { red: code('31'), boldRed: code('1;31'), green: code('32'), yellow: code('33') };
}

const YELLOW_STATES = new Set(['OperationalSolo', 'SystemStartup', 'OffCharging', 'EnteringStandby', 'Standby']);

type Json = Record<string, unknown>;

const str = (v: unknown): string => (v === undefined || v === null ? 'N/A' : typeof v === 'string' ? v : String(v));

/** The status table (docs/cli.md). `usb` is the GET /usb object, when it was asked for and answered. */
export function statusTable(values: Json, usb: Json | null, c: Colours): string {
  const row = (key: string, value: string, unit?: string, colour: (s: string) => string = plain) =>
    `${padEnd(key, 24)} ${colour(padStart(value, 15))}${unit ? ` ${unit}` : ''}`;
  // No blank first line (halpid 5.0.2 printed one); blank lines only between the groups.
  const lines: string[] = [];
  lines.push(row('hardware_version', str(values.hardware_version)));
  lines.push(row('firmware_version', str(values.firmware_version)));
  lines.push('');
  const state = str(values.state);
  const stateColour = state === 'OperationalCoOp' ? c.green : YELLOW_STATES.has(state) ? c.yellow : c.red;
  lines.push(row('state', state, undefined, stateColour));
  lines.push(row('5v_output_enabled', str(values['5v_output_enabled'])));
  let bits: number | null = null;
  if (typeof values.usb_port_state === 'number') bits = values.usb_port_state;
  else if (usb) bits = [0, 1, 2, 3].reduce((b, n) => (usb[`usb${n}`] === true ? b | (1 << n) : b), 0);
  if (bits !== null) {
    const ports = [0, 1, 2, 3].map((n) => `USB${n}:${(bits! & (1 << n)) !== 0 ? c.green('✓') : c.red('✗')}`).join(' ');
    lines.push(`${padEnd('usb_ports', 24)} ${ports}`);
  }
  lines.push(row('watchdog_enabled', str(values.watchdog_enabled)));
  if (values.watchdog_enabled === true) {
    for (const key of ['watchdog_timeout', 'watchdog_elapsed']) {
      if (typeof values[key] === 'number') lines.push(row(key, roundHalfEven(values[key] as number, 1), 's'));
    }
  }
  lines.push('');
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  const vin = num(values.V_in);
  if (vin !== null) lines.push(row('V_in', roundHalfEven(vin, 1), 'V'));
  const iin = num(values.I_in);
  if (iin !== null) lines.push(row('I_in', roundHalfEven(iin, 2), 'A'));
  const vcap = num(values.V_cap) ?? num(values.V_supercap);
  if (vcap !== null) lines.push(row('V_cap', roundHalfEven(vcap, 2), 'V'));
  for (const key of ['T_mcu', 'T_pcb']) {
    const k = num(values[key]);
    if (k !== null) lines.push(row(key, roundHalfEven(k - 273.15, 1), '°C'));
  }
  lines.push('');
  return `${lines.join('\n')}\n`;
}

export const CONFIG_ORDER = [
  'watchdog_timeout',
  'power_on_threshold',
  'solo_power_off_threshold',
  'led_brightness',
  'auto_restart',
  'solo_depleting_timeout',
];

export function configValue(v: unknown): string {
  if (typeof v === 'number') return configNumber(v);
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** The config table (docs/cli.md). */
export function configTable(config: Json): string {
  const keys = [
    ...CONFIG_ORDER.filter((k) => k in config),
    ...Object.keys(config)
      .filter((k) => !CONFIG_ORDER.includes(k))
      .sort(),
  ];
  const rows = keys.map((k) => `${padEnd(k, 30)} ${padStart(configValue(config[k]), 15)}`);
  return `\n${rows.join('\n')}\n\n`;
}

/** The USB list (docs/cli.md). */
export function usbList(usb: Json, c: Colours): string {
  const rows = [0, 1, 2, 3]
    .filter((n) => `usb${n}` in usb)
    .map((n) => `  Port ${n}: ${usb[`usb${n}`] === true ? c.green('enabled') : c.red('disabled')}`);
  return `\nUSB Port States:\n${rows.join('\n')}\n\n`;
}

/** A face of the daemon that is down, as GET /metrics reports it (docs/api.md, /metrics). */
export interface FaceDown {
  face: string;
  address: string;
  error: string;
}

const unescapeLabel = (v: string): string => v.replace(/\\(["\\n])/g, (_m, c: string) => (c === 'n' ? '\n' : c));
const labelsOf = (text: string): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = unescapeLabel(m[2]!);
  return out;
};

/** The faces reported down in a /metrics text (`halpi_face_up … 0`), with their reasons. */
export function facesDown(metrics: string): FaceDown[] {
  const errors = new Map<string, string>();
  const down: Array<{ face: string; address: string }> = [];
  for (const line of metrics.split('\n')) {
    const m = /^(halpi_face_up|halpi_face_error_info)\{(.*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const l = labelsOf(m[2]!);
    if (m[1] === 'halpi_face_error_info') errors.set(l.face ?? '', l.error ?? '');
    else if (m[3] === '0') down.push({ face: l.face ?? '', address: l.address ?? '' });
  }
  return down.map((d) => ({ ...d, error: errors.get(d.face) ?? 'not started' }));
}

const FACE_TITLES: Record<string, string> = { web: 'web listener', nut: 'NUT listener' };

/** One line per face that is down, for `halpi status`. */
export function facesDownLines(down: FaceDown[], c: Colours): string {
  return down.map((d) => `${c.red(`${FACE_TITLES[d.face] ?? d.face} on ${d.address} is down`)}: ${d.error}\n`).join('');
}
