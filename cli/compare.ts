// halpi compare (docs/cli.md): the same requests to two daemons — ours and halpid 4.0.7, 5.0.2
// or another of ours — and every difference in status, content type and body, each classified:
// identical, numeric noise (measurements move between two reads), a known deliberate difference
// (named), or a real difference. Only real differences fail.

import { socketRequest, type Reply } from '../lib/socket-http.js';

export type Answer = Reply;

export type Verdict = 'identical' | 'noise' | 'known' | 'real';

export interface Row {
  request: string;
  verdict: Verdict;
  /** For known differences: which one; for real ones: what differs. */
  note: string;
  ours: Answer;
  other: Answer;
}

export async function ask(socket: string, method: string, path: string, body?: string): Promise<Answer> {
  try {
    return await socketRequest(socket, method, path, { timeoutMs: 10_000, ...(body === undefined ? {} : { body, headers: { 'Content-Type': 'application/json' } }) });
  } catch (err) {
    throw new Error(`${method} ${path} on ${socket}: ${(err as Error).message}`);
  }
}

const VALUE_KEYS = ['V_in', 'V_cap', 'V_supercap', 'I_in', 'T_mcu', 'T_pcb', 'state', '5v_output_enabled', 'usb_port_state',
  'watchdog_enabled', 'watchdog_timeout', 'watchdog_elapsed', 'hardware_version', 'firmware_version', 'daemon_version', 'device_id', 'nope'];
const CONFIG_KEYS = ['watchdog_timeout', 'power_on_threshold', 'solo_power_off_threshold', 'led_brightness', 'auto_restart',
  'solo_depleting_timeout', 'nope'];
/** Values that move between two reads (measurements). */
const MOVING = new Set(['V_in', 'V_cap', 'V_supercap', 'I_in', 'T_mcu', 'T_pcb', 'watchdog_elapsed']);

/** The read-only requests of the conformance checklist (docs/api.md). */
export const READS: Array<[string, string]> = [
  ['GET', '/'], ['GET', '/version'], ['GET', '/values'], ...VALUE_KEYS.map((k): [string, string] => ['GET', `/values/${k}`]),
  ['GET', '/config'], ...CONFIG_KEYS.map((k): [string, string] => ['GET', `/config/${k}`]),
  ['GET', '/usb'], ['GET', '/usb/0'], ['GET', '/usb/3'], ['GET', '/usb/9'],
  ['GET', '/nope'], ['DELETE', '/values'],
];

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

type Dialect = 4 | 5;

/** A daemon's dialect, from its /values (4: V_supercap, as halpid 4.0.7). */
export async function dialectOf(socket: string): Promise<Dialect> {
  const v = await ask(socket, 'GET', '/values');
  return /"V_supercap"/.test(v.text) ? 4 : 5;
}

const errorText = (a: Answer): string | undefined => {
  const j = parse(a.text) as { error?: unknown } | undefined;
  return typeof j?.error === 'string' ? j.error : undefined;
};

/** Numbers that differ only where measurements move, or by float32 against double arithmetic. */
function sameButNoise(a: unknown, b: unknown, key = ''): 'same' | 'noise' | 'differs' {
  if (typeof a === 'number' && typeof b === 'number') {
    if (a === b) return 'same';
    if (MOVING.has(key)) return 'noise';
    return Math.abs(a - b) <= Math.max(1e-6, Math.abs(a) * 1e-6) ? 'noise' : 'differs';
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a as object);
    const kb = Object.keys(b as object);
    if (ka.length !== kb.length || ka.some((k) => !(k in (b as object)))) return 'differs';
    let out: 'same' | 'noise' = 'same';
    for (const k of ka) {
      const r = sameButNoise((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], k);
      if (r === 'differs') return 'differs';
      if (r === 'noise') out = 'noise';
    }
    return out;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? 'same' : 'differs';
}

/** Names the known difference between two answers, or returns null (docs/api.md: deliberate differences, dialect 4). */
function knownDifference(req: string, ours: Answer, other: Answer, d: { ours: Dialect; other: Dialect }): string | null {
  const path = req.split(' ')[1]!;
  const jo = parse(ours.text);
  const jt = parse(other.text);
  // Our version, by design higher than the one replaced.
  const version = (j: unknown) => (typeof j === 'string' ? j : (j as { daemon_version?: unknown } | undefined)?.daemon_version);
  if ((path === '/version' || path === '/values/daemon_version') && version(jo) !== version(jt)) return 'daemon_version (ours is our version)';
  if (path === '/values/V_supercap' && d.ours === 5 && ours.status === 200 && other.status === 404) return 'V_supercap alias (ours answers the user guide\'s name)';
  if (d.ours !== d.other) {
    // The dialect switch.
    if (path === '/values' && jo && jt) {
      const norm = (v: Record<string, unknown>) => {
        const { V_supercap, usb_port_state: _u, daemon_version: _d, ...rest } = v;
        return { ...rest, V_cap: rest.V_cap ?? V_supercap };
      };
      if (sameButNoise(norm(jo as Record<string, unknown>), norm(jt as Record<string, unknown>)) !== 'differs') {
        return 'dialect: /values says V_supercap and usb_port_state in dialect 4';
      }
    }
    if (['/values/V_cap', '/values/V_supercap', '/values/usb_port_state'].includes(path)) return 'dialect: keys of the other dialect are unknown';
    const statuses = [ours.status, other.status].sort().join(' ');
    if (statuses === '400 422') return 'dialect: a body of the wrong type is 400 in dialect 4 (halpid 5.0.2: 422)';
    if (ours.status === other.status && ours.status >= 400) {
      const eo = errorText(ours) ?? ours.text;
      const et = errorText(other) ?? other.text;
      // Dialect 4 answers errors as halpid 4.0.7 did: plain text, its own words, or empty.
      if (eo === et || eo === '' || et === '' || ours.type !== other.type) return 'dialect: errors as plain text or empty in dialect 4';
    }
    if (ours.status === other.status && jo !== undefined && jt !== undefined && sameButNoise(jo, jt) !== 'differs') {
      return 'dialect: JSON layout, content type and double arithmetic';
    }
  }
  return null;
}

export function classify(req: string, ours: Answer, other: Answer, d: { ours: Dialect; other: Dialect }): Row {
  const row = (verdict: Verdict, note = ''): Row => ({ request: req, verdict, note, ours, other });
  if (ours.status === other.status && ours.type === other.type && ours.text === other.text) return row('identical');
  const jo = parse(ours.text);
  const jt = parse(other.text);
  const key = req.split('/').at(-1)!;
  if (ours.status === other.status && ours.type === other.type && jo !== undefined && jt !== undefined) {
    const r = sameButNoise(jo, jt, key);
    if (r !== 'differs') return row('noise', 'measurements moved between the two reads');
  }
  const known = knownDifference(req, ours, other, d);
  if (known) return row('known', known);
  const what = ours.status !== other.status ? `status ${ours.status} vs ${other.status}`
    : ours.type !== other.type ? `content type ${ours.type} vs ${other.type}` : 'body';
  return row('real', what);
}

/** Reversible writes: switch USB port 3 and step the LED brightness, then put both back. */
async function writes(socket: string): Promise<Array<[string, Answer]>> {
  const usb = parse((await ask(socket, 'GET', '/usb/3')).text) === true;
  const led = Number(parse((await ask(socket, 'GET', '/config/led_brightness')).text));
  const out: Array<[string, Answer]> = [];
  out.push([`PUT /usb/3 ${!usb}`, await ask(socket, 'PUT', '/usb/3', String(!usb))]);
  out.push([`PUT /config/led_brightness ${(led + 1) % 256}`, await ask(socket, 'PUT', '/config/led_brightness', String((led + 1) % 256))]);
  out.push(['PUT /usb/3 "on"', await ask(socket, 'PUT', '/usb/3', '"on"')]);
  out.push(['PUT /config/led_brightness "x"', await ask(socket, 'PUT', '/config/led_brightness', '"x"')]);
  // Put everything back as it was.
  await ask(socket, 'PUT', '/usb/3', String(usb));
  await ask(socket, 'PUT', '/config/led_brightness', String(led));
  return out;
}

export async function compare(ours: string, other: string, opts: { writes?: boolean } = {}): Promise<Row[]> {
  const d = { ours: await dialectOf(ours), other: await dialectOf(other) };
  const rows: Row[] = [];
  for (const [method, path] of READS) {
    const [a, b] = await Promise.all([ask(ours, method, path), ask(other, method, path)]);
    rows.push(classify(`${method} ${path}`, a, b, d));
  }
  if (opts.writes) {
    const [wa, wb] = await Promise.all([writes(ours), writes(other)]);
    for (let i = 0; i < wa.length; i++) {
      const name = wa[i]![0].replace(/ (true|false|\d+)$/, ' (changed)');
      const r = classify(name, wa[i]![1], wb[i]![1], d);
      // A success is a success: 200 {"status":"ok"} (dialect 5) and 204 (dialect 4) both.
      const ok = (x: Answer) => x.status === 204 || (x.status === 200 && /"status":\s*"ok"/.test(x.text));
      if (r.verdict === 'real' && ok(r.ours) && ok(r.other) && d.ours !== d.other) rows.push({ ...r, verdict: 'known', note: 'dialect: 200 {"status":"ok"} or 204 on success' });
      else rows.push(r);
    }
  }
  return rows;
}

export function table(rows: Row[]): string {
  const show = rows.filter((r) => r.verdict !== 'identical');
  const width = Math.max(7, ...show.map((r) => r.request.length));
  const lines = show.map((r) => `${r.request.padEnd(width)}  ${r.verdict.padEnd(9)}  ${r.note || `${r.ours.status} vs ${r.other.status}`}`);
  const counts = (['identical', 'noise', 'known', 'real'] as const).map((v) => `${rows.filter((r) => r.verdict === v).length} ${v}`).join(', ');
  return `${lines.length ? `${'request'.padEnd(width)}  verdict    note\n${lines.join('\n')}\n\n` : ''}${rows.length} requests: ${counts}\n`;
}
