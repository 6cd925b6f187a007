// halpi compare (docs/cli.md): the same requests to two daemons — ours and halpid 4.0.7, 5.0.2 or
// another of ours — compared by the shape of the answer, not its data: status code, content type,
// JSON key sets and order, value types, number formatting, layout, error texts. Two controllers
// (or two reads of one) give different values; those are reported as data and fail nothing. Each
// difference in shape is named where it is a known, deliberate one, with the clients it breaks
// (halpi 4.0.7, signalk-halpi 0.1.2, halpi 5.0.2); the report ends with a recommendation for
// api-compat. Nothing sent can act on a controller: see `requests` below.

import { socketRequest, type Reply } from '../lib/socket-http.js';
import { V4_VALUE_KEYS } from '../engine/api/value-keys.js';
import { CONFIG_KEYS } from '../engine/device.js';

export type Answer = Reply;

export type Verdict = 'identical' | 'data' | 'known' | 'real';

export const CLIENTS = ['halpi 4.0.7', 'signalk-halpi 0.1.2', 'halpi 5.0.2'] as const;
export type ClientName = (typeof CLIENTS)[number];

export interface Row {
  request: string;
  verdict: Verdict;
  /** The shape aspects that differ (status, type, keys, order, types, numbers, layout, body, error). */
  differs: string[];
  /** For data: the values that differ; for known: the named differences; for real: what differs. */
  note: string;
  /** Clients that work against the other daemon and break against ours on this request. */
  breaks: ClientName[];
  ours: Answer;
  other: Answer;
}

export async function ask(
  socket: string,
  method: string,
  path: string,
  body?: string,
  type = 'application/json',
): Promise<Answer> {
  try {
    return await socketRequest(socket, method, path, {
      timeoutMs: 10_000,
      ...(body === undefined ? {} : { body, headers: { 'Content-Type': type } }),
    });
  } catch (err) {
    throw new Error(`${method} ${path} on ${socket}: ${(err as Error).message}`, { cause: err });
  }
}

// Both dialects' names (V_cap and V_supercap), and one no daemon knows.
const VALUE_KEYS = [...new Set<string>(['V_in', 'V_cap', ...V4_VALUE_KEYS]), 'nope'];
// Every setting, and one no daemon knows.
const CONFIG_NAMES = [...CONFIG_KEYS, 'nope'];

/** The read-only requests of the conformance checklist (docs/api.md). */
export const READS: Array<[string, string]> = [
  ['GET', '/'],
  ['GET', '/version'],
  ['GET', '/values'],
  ...VALUE_KEYS.map((k): [string, string] => ['GET', `/values/${k}`]),
  ['GET', '/config'],
  ...CONFIG_NAMES.map((k): [string, string] => ['GET', `/config/${k}`]),
  ['GET', '/usb'],
  ['GET', '/usb/0'],
  ['GET', '/usb/3'],
  ['GET', '/usb/9'],
  ['GET', '/nope'],
  ['DELETE', '/values'],
];

type Dialect = 4 | 5;

interface Daemon {
  socket: string;
  dialect: Dialect;
  version: string;
}

/** A daemon's dialect, from its /values (4: V_supercap, as halpid 4.0.7), and its version. */
async function identify(socket: string): Promise<Daemon> {
  const v = await ask(socket, 'GET', '/values');
  const version = parse((await ask(socket, 'GET', '/version')).text) as { daemon_version?: unknown } | undefined;
  return {
    socket,
    dialect: /"V_supercap"/.test(v.text) ? 4 : 5,
    version: typeof version?.daemon_version === 'string' ? version.daemon_version : '',
  };
}

/** Kept for callers that only need the dialect. */
export async function dialectOf(socket: string): Promise<Dialect> {
  return (await identify(socket)).dialect;
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

// --- shape ----------------------------------------------------------------------------------

type JsonType = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';
const typeOf = (v: unknown): JsonType =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : (typeof v as 'object' | 'string' | 'number' | 'boolean');

/** The number literals of a JSON text, in order, as their kind: 10 int, 10.0 decimal, 1e-05 exponent. */
function numberKinds(text: string): string[] {
  const out: string[] = [];
  // Strings first, so digits inside them are not numbers.
  const bare = text.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  for (const m of bare.matchAll(/-?\d+(\.\d+)?([eE][+-]?\d+)?/g))
    out.push(m[2] ? 'exponent' : m[1] ? 'decimal' : 'int');
  return out;
}

/** The layout of a JSON text: everything but its strings, numbers and literals (separators, spaces). */
const layoutOf = (text: string): string =>
  text
    .replace(/"(?:[^"\\]|\\.)*"/g, 's')
    .replace(/-?\d+(\.\d+)?([eE][+-]?\d+)?/g, 'n')
    .replace(/true|false|null/g, 'n');

interface Walk {
  keys: string[];
  order: string[];
  types: string[];
  values: string[];
}

/** Where two JSON values differ: key sets, key order, value types (by path), values (by path). */
function walk(a: unknown, b: unknown, path: string, w: Walk): void {
  const ta = typeOf(a);
  const tb = typeOf(b);
  if (ta !== tb) {
    w.types.push(`${path || '(top)'}: ${ta} vs ${tb}`);
    return;
  }
  if (ta === 'object') {
    const oa = a as Record<string, unknown>;
    const ob = b as Record<string, unknown>;
    const ka = Object.keys(oa);
    const kb = Object.keys(ob);
    const only = (x: string[], y: string[]) => x.filter((k) => !y.includes(k));
    const [oursOnly, otherOnly] = [only(ka, kb), only(kb, ka)];
    if (oursOnly.length || otherOnly.length) {
      w.keys.push(
        `${path || '(top)'}: ${[...oursOnly.map((k) => `+${k}`), ...otherOnly.map((k) => `-${k}`)].join(' ')}`,
      );
    }
    const common = ka.filter((k) => kb.includes(k));
    if (common.join() !== kb.filter((k) => ka.includes(k)).join()) w.order.push(path || '(top)');
    for (const k of common) walk(oa[k], ob[k], path ? `${path}.${k}` : k, w);
    return;
  }
  if (ta === 'array') {
    const [xa, xb] = [a as unknown[], b as unknown[]];
    if (xa.length !== xb.length) w.values.push(`${path || '(top)'}: ${xa.length} vs ${xb.length} items`);
    for (let i = 0; i < Math.min(xa.length, xb.length); i++) walk(xa[i], xb[i], `${path}[${i}]`, w);
    return;
  }
  if (a !== b) w.values.push(`${path || '(top)'}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
}

const bodyKind = (a: Answer): 'empty' | 'json' | 'text' =>
  a.text === '' ? 'empty' : parse(a.text) !== undefined ? 'json' : 'text';

/** The message of an error answer: `{"error":…}` or the text. */
const errorText = (a: Answer): string => {
  const j = parse(a.text) as { error?: unknown } | undefined;
  return typeof j?.error === 'string' ? j.error : a.text.trim();
};

interface Comparison {
  differs: string[];
  details: string[];
  data: string[];
}

/** How two answers differ in shape (`differs`, with `details`) and in data. */
export function compareShape(ours: Answer, other: Answer): Comparison {
  const c: Comparison = { differs: [], details: [], data: [] };
  const add = (aspect: string, detail: string) => {
    if (!c.differs.includes(aspect)) c.differs.push(aspect);
    c.details.push(detail);
  };
  if (ours.status !== other.status) add('status', `status ${ours.status} vs ${other.status}`);
  if (ours.type !== other.type) add('type', `content type ${ours.type || '(none)'} vs ${other.type || '(none)'}`);
  const [ko, kt] = [bodyKind(ours), bodyKind(other)];
  const error = ours.status >= 400 || other.status >= 400;
  if (ko !== kt) add('body', `body ${ko} vs ${kt}`);
  if (error) {
    if (errorText(ours) !== errorText(other))
      add('error', `error text ${JSON.stringify(errorText(ours))} vs ${JSON.stringify(errorText(other))}`);
    return c;
  }
  if (ko === 'json' && kt === 'json') {
    const w: Walk = { keys: [], order: [], types: [], values: [] };
    walk(parse(ours.text), parse(other.text), '', w);
    for (const k of w.keys) add('keys', `keys ${k}`);
    for (const o of w.order) add('order', `key order of ${o}`);
    for (const t of w.types) add('types', `type of ${t}`);
    if (!w.keys.length && !w.types.length) {
      const [no, nt] = [numberKinds(ours.text), numberKinds(other.text)];
      if (no.join() !== nt.join())
        add('numbers', `number formatting (${[...new Set(no)].join(', ')} vs ${[...new Set(nt)].join(', ')})`);
      if (!w.order.length && layoutOf(ours.text) !== layoutOf(other.text))
        add('layout', 'JSON layout (separators, spaces)');
    }
    c.data.push(...w.values);
  } else if (ko === 'text' && kt === 'text' && ours.text !== other.text) {
    add('body', 'text body');
  }
  return c;
}

// --- known differences ----------------------------------------------------------------------

interface Known {
  name: string;
  /** The aspects it accounts for. */
  covers: string[];
  breaks: ClientName[];
}

/**
 * The deliberate differences (docs/api.md), given which side says what, and the clients each
 * breaks: a client that works against the other daemon but not against ours. What the clients
 * read: halpi 4.0.7's status needs V_supercap in /values (it fails without it); signalk-halpi 0.1.2
 * reads V_cap from /values and /usb, and wants 200 and JSON; halpi 5.0.2 reads /values with
 * V_supercap and usb_port_state optional, takes 200 or 204 on a write and prints an error body as
 * it comes. None of them minds a content type, layout, key order or number formatting.
 */
function knownDifferences(
  req: string,
  ours: Answer,
  other: Answer,
  c: Comparison,
  d: { ours: Daemon; other: Daemon },
): Known[] {
  const path = req.split(' ')[1]!;
  const out: Known[] = [];
  const oursKeys = parse(ours.text);
  const otherKeys = parse(other.text);
  const has = (v: unknown, k: string) => typeof v === 'object' && v !== null && k in v;
  if (req === 'GET /values' && c.differs.includes('keys')) {
    const breaks: ClientName[] = [];
    if (has(otherKeys, 'V_supercap') && !has(oursKeys, 'V_supercap')) breaks.push('halpi 4.0.7');
    if (has(otherKeys, 'V_cap') && !has(oursKeys, 'V_cap')) breaks.push('signalk-halpi 0.1.2');
    out.push({
      name: 'dialect: /values says V_supercap and usb_port_state in dialect 4, V_cap in dialect 5',
      covers: ['keys', 'order'],
      breaks,
    });
  }
  const otherDialectKey = ['/values/V_cap', '/values/V_supercap', '/values/usb_port_state'].includes(path);
  if (path === '/values/V_supercap' && d.ours.dialect === 5 && ours.status === 200 && other.status === 404) {
    out.push({
      name: "V_supercap alias (ours answers the user guide's name)",
      covers: ['status', 'type', 'body', 'error'],
      breaks: [],
    });
  } else if (otherDialectKey && d.ours.dialect !== d.other.dialect) {
    out.push({
      name: 'dialect: keys of the other dialect are unknown',
      covers: ['status', 'type', 'body', 'error'],
      breaks: [],
    });
  }
  if (d.ours.dialect !== d.other.dialect) {
    const types = [ours.type, other.type];
    if (types.every((t) => t.startsWith('application/json')))
      out.push({ name: 'dialect: JSON content type (charset=utf-8 in dialect 4)', covers: ['type'], breaks: [] });
    out.push({
      name: 'dialect: JSON layout, key order and number formatting',
      covers: ['layout', 'order', 'numbers'],
      breaks: [],
    });
    const statuses = [ours.status, other.status].sort().join(' ');
    if (statuses === '400 422')
      out.push({
        name: 'dialect: a body of the wrong type is 400 in dialect 4 (halpid 5.0.2: 422)',
        covers: ['status'],
        breaks: [],
      });
    if (statuses === '200 204')
      out.push({
        name: 'dialect: 200 {"status":"ok"} or 204 on success',
        covers: ['status', 'type', 'body'],
        breaks: [],
      });
    if (ours.status >= 400 && other.status >= 400) {
      // Dialect 4 answers errors as halpid 4.0.7 did: plain text in its own words, or empty.
      out.push({
        name: 'dialect: errors as plain text or empty in dialect 4, JSON in dialect 5',
        covers: ['type', 'body', 'error'],
        breaks: [],
      });
    }
  }
  if (ours.status >= 400 && ours.status < 500 && other.status === 500) {
    // halpid 4.0.7 answered some bad requests with an unhandled exception (docs/api.md).
    out.push({
      name: 'the other answered 500 (a crash); ours refuses with 4xx and a reason',
      covers: ['status', 'type', 'body', 'error'],
      breaks: [],
    });
  }
  if (req === 'POST /standby {}' && other.status >= 200 && other.status < 300 && ours.status >= 400) {
    out.push({
      name: 'a standby without delay or datetime is refused (halpid 4.0.7 set the alarm to 1970)',
      covers: ['status', 'type', 'body', 'error'],
      breaks: [],
    });
  }
  return out;
}

export function classify(req: string, ours: Answer, other: Answer, d: { ours: Daemon; other: Daemon }): Row {
  const c = compareShape(ours, other);
  const row = (verdict: Verdict, note: string, breaks: ClientName[] = []): Row => ({
    request: req,
    verdict,
    differs: c.differs,
    note,
    breaks,
    ours,
    other,
  });
  if (c.differs.length === 0) {
    return ours.text === other.text && ours.type === other.type
      ? row('identical', '')
      : row('data', c.data.join('; ') || 'values');
  }
  const known = knownDifferences(req, ours, other, c, d);
  const unexplained = c.differs.filter((a) => !known.some((k) => k.covers.includes(a)));
  const used = known.filter((k) => k.covers.some((a) => c.differs.includes(a)));
  if (unexplained.length === 0)
    return row('known', used.map((k) => k.name).join('; '), [...new Set(used.flatMap((k) => k.breaks))]);
  return row(
    'real',
    c.details.filter((dt) => unexplained.some((a) => detailAspect(dt) === a)).join('; ') || c.details.join('; '),
  );
}

const detailAspect = (detail: string): string =>
  detail.startsWith('status')
    ? 'status'
    : detail.startsWith('content type')
      ? 'type'
      : detail.startsWith('keys')
        ? 'keys'
        : detail.startsWith('key order')
          ? 'order'
          : detail.startsWith('type of')
            ? 'types'
            : detail.startsWith('number')
              ? 'numbers'
              : detail.startsWith('JSON layout')
                ? 'layout'
                : detail.startsWith('error')
                  ? 'error'
                  : 'body';

// --- requests -------------------------------------------------------------------------------

interface Probe {
  name: string;
  send: (socket: string) => Promise<Answer>;
}

/**
 * Requests beyond the reads, none of which can act on a controller:
 * - a body that is not JSON, to PUT /config/led_brightness (the LED brightness is put back if a
 *   daemon took it after all);
 * - POST /flash with no body and no multipart type: refused before any controller access;
 * - POST /standby {}: halpid 4.0.7 took it as a standby (alarm at 1970), so it goes to a 4.x
 *   daemon only with `standbyProbe` (a daemon on a fake bus you can lose); ours and 5.0.2 refuse it.
 */
function probes(d: Daemon, standbyProbe: boolean): Probe[] {
  const out: Probe[] = [
    {
      name: 'PUT /config/led_brightness (invalid JSON)',
      send: async (s) => {
        const before = (await ask(s, 'GET', '/config/led_brightness')).text;
        const a = await ask(s, 'PUT', '/config/led_brightness', '{"x":');
        const after = (await ask(s, 'GET', '/config/led_brightness')).text;
        if (after !== before && parse(before) !== undefined)
          await ask(s, 'PUT', '/config/led_brightness', before.trim());
        return a;
      },
    },
    { name: 'POST /flash (no body)', send: (s) => ask(s, 'POST', '/flash') },
  ];
  if (!d.version.startsWith('4.') || standbyProbe)
    out.push({ name: 'POST /standby {}', send: (s) => ask(s, 'POST', '/standby', '{}') });
  return out;
}

/** Reversible writes: switch USB port 3 and step the LED brightness, then put both back. */
async function writes(socket: string): Promise<Array<[string, Answer]>> {
  const usb = parse((await ask(socket, 'GET', '/usb/3')).text) === true;
  const led = Number(parse((await ask(socket, 'GET', '/config/led_brightness')).text));
  const out: Array<[string, Answer]> = [];
  out.push(['PUT /usb/3 (changed)', await ask(socket, 'PUT', '/usb/3', String(!usb))]);
  out.push([
    'PUT /config/led_brightness (changed)',
    await ask(socket, 'PUT', '/config/led_brightness', String((led + 1) % 256)),
  ]);
  out.push(['PUT /usb/3 "on"', await ask(socket, 'PUT', '/usb/3', '"on"')]);
  out.push(['PUT /config/led_brightness "x"', await ask(socket, 'PUT', '/config/led_brightness', '"x"')]);
  // Put everything back as it was.
  await ask(socket, 'PUT', '/usb/3', String(usb));
  await ask(socket, 'PUT', '/config/led_brightness', String(led));
  return out;
}

export interface Report {
  ours: { dialect: Dialect; version: string };
  other: { dialect: Dialect; version: string };
  rows: Row[];
  /** Clients that break against ours, each with the requests that break it. */
  broken: Partial<Record<ClientName, string[]>>;
  recommendation: string;
  /** Requests not sent, and why. */
  skipped: string[];
}

export async function compare(
  ours: string,
  other: string,
  opts: { writes?: boolean; standbyProbe?: boolean } = {},
): Promise<Report> {
  const d = { ours: await identify(ours), other: await identify(other) };
  const rows: Row[] = [];
  for (const [method, path] of READS) {
    const [a, b] = await Promise.all([ask(ours, method, path), ask(other, method, path)]);
    rows.push(classify(`${method} ${path}`, a, b, d));
  }
  const mine = probes(d.ours, true);
  const theirs = probes(d.other, Boolean(opts.standbyProbe));
  const skipped: string[] = [];
  for (const p of mine) {
    const q = theirs.find((x) => x.name === p.name);
    if (!q) {
      skipped.push(
        `${p.name}: not sent to halpid ${d.other.version}, which takes it as a standby (--standby-probe sends it, only to a daemon on a fake bus)`,
      );
      continue;
    }
    const [a, b] = await Promise.all([p.send(ours), q.send(other)]);
    rows.push(classify(p.name, a, b, d));
  }
  if (opts.writes) {
    const [wa, wb] = await Promise.all([writes(ours), writes(other)]);
    for (let i = 0; i < wa.length; i++) rows.push(classify(wa[i]![0], wa[i]![1], wb[i]![1], d));
  }
  const broken: Partial<Record<ClientName, string[]>> = {};
  for (const r of rows) for (const c of r.breaks) (broken[c] ??= []).push(r.request);
  return {
    ours: { dialect: d.ours.dialect, version: d.ours.version },
    other: { dialect: d.other.dialect, version: d.other.version },
    rows,
    broken,
    recommendation: recommend(d, broken),
    skipped,
  };
}

/** What to set: the dialect the other daemon speaks, since its clients were written against it. */
function recommend(d: { ours: Daemon; other: Daemon }, broken: Partial<Record<ClientName, string[]>>): string {
  const names = Object.keys(broken);
  if (d.ours.dialect === d.other.dialect) {
    return `Keep api-compat: ${d.ours.dialect}: both speak dialect ${d.ours.dialect}${names.length ? `, yet ${names.join(', ')} would break` : '; no client of the other breaks against ours'}.`;
  }
  const others =
    d.other.dialect === 4
      ? "signalk-halpi 0.1.2 reads V_cap and then breaks: replace it with this package's Signal K plugin (same paths), which takes both"
      : "halpi 4.0.7 then breaks (its status needs V_supercap): use this package's halpi, which takes both";
  return `Set api-compat: ${d.other.dialect} in /etc/halpid/halpid.conf if ${names.length ? names.join(' and ') : 'clients of the other daemon'} or scripts written against halpid ${d.other.version || `dialect ${d.other.dialect}`} use this daemon${names.length ? ` (they break on: ${[...new Set(Object.values(broken).flat())].join(', ')})` : ''}; ${others}.`;
}

/** Exit status: 1 for a real difference or a client that breaks against ours. */
export const failed = (r: Report): boolean =>
  r.rows.some((x) => x.verdict === 'real') || Object.keys(r.broken).length > 0;

export function table(r: Report): string {
  const show = r.rows.filter((x) => x.verdict !== 'identical');
  const width = Math.max(7, ...show.map((x) => x.request.length));
  const lines = show.map(
    (x) =>
      `${x.request.padEnd(width)}  ${x.verdict.padEnd(9)}  ${x.note}${x.breaks.length ? ` — breaks ${x.breaks.join(', ')}` : ''}`,
  );
  const counts = (['identical', 'data', 'known', 'real'] as const)
    .map((v) => `${r.rows.filter((x) => x.verdict === v).length} ${v}`)
    .join(', ');
  const clients = CLIENTS.map((c) => `  ${c.padEnd(20)} ${broken(r, c)}`).join('\n');
  return [
    `ours: halpid ${r.ours.version || '?'}, dialect ${r.ours.dialect}; other: halpid ${r.other.version || '?'}, dialect ${r.other.dialect}`,
    '',
    ...(lines.length ? [`${'request'.padEnd(width)}  verdict    note`, ...lines, ''] : []),
    ...r.skipped.map((s) => `skipped: ${s}`),
    `${r.rows.length} requests: ${counts}`,
    '',
    'Clients of the other daemon against ours:',
    clients,
    '',
    r.recommendation,
    '',
  ].join('\n');
}

const broken = (r: Report, c: ClientName): string => (r.broken[c] ? `breaks (${r.broken[c]!.join(', ')})` : 'works');
