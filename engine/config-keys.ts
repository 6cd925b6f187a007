// The daemon's settings (docs/configuration.md) without the YAML reader: their defaults, the rules
// of their values with the "expected …" texts, flags, and the assembly of files and flags. The
// YAML side (engine/config.ts) is loaded only when there is a file to read: a daemon started
// with flags alone, or `halpid --help`, loads no parser (docs/performance.md).

import createDebug from 'debug';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const DEFAULT_CONFIG_FILE = '/etc/halpid/halpid.conf';

export type DaemonConfig = {
  'i2c-bus': number;
  'i2c-addr': number;
  'blackout-time-limit': number;
  'blackout-voltage-limit': number;
  socket: string;
  'socket-group': string | number;
  poweroff: string;
  'poweroff-timeout': number;
  'poweroff-fallback': string;
  rtcwake: string;
  'dry-run': boolean;
  backend: 'auto' | 'i2c' | 'simulator';
  'api-compat': 5 | 4;
  'sim-state-file': string;
  'sim-execute-commands': boolean;
  web: string;
  'web-token': string;
  'web-token-file': string;
  'nut-listen': string;
  'nut-user': string;
  'nut-password': string;
  'nut-password-file': string;
  'nut-primary': boolean;
};
export type ConfigKey = keyof DaemonConfig;

/** One setting: its default, what its values must be (and the text saying so), how SIGHUP treats it. */
interface Spec {
  default: DaemonConfig[ConfigKey];
  /** The value's kind, as parseFlagValue converts a flag's text. */
  type: 'integer' | 'number' | 'string' | 'boolean' | 'other';
  valid: (v: unknown) => boolean;
  expected: string;
  reload: 'live' | 'restart';
}

const integer = (min: number, max: number) => (v: unknown) =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
/** A finite number above `above` (exclusive) and at most `max`, or from `min` (inclusive). */
const number =
  (limits: { above?: number; min?: number; max: number }) =>
  (v: unknown): boolean =>
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (limits.above === undefined || v > limits.above) &&
    (limits.min === undefined || v >= limits.min) &&
    v <= limits.max;
const string =
  (pattern?: RegExp, minLength = 0) =>
  (v: unknown): boolean =>
    typeof v === 'string' && v.length >= minLength && (!pattern || pattern.test(v));
const boolean = (v: unknown) => typeof v === 'boolean';
const ADDRESS = /^(|[0-9]{1,5}|[^\s/]+:[0-9]{1,5})$/;
const ABSOLUTE_OR_EMPTY = /^(|\/.*)$/;

const spec = (
  type: Spec['type'],
  dflt: Spec['default'],
  valid: Spec['valid'],
  expected: string,
  reload: Spec['reload'] = 'live',
): Spec => ({ type, default: dflt, valid, expected, reload });

const SPECS: Record<ConfigKey, Spec> = {
  'i2c-bus': spec('integer', 1, integer(0, 255), 'an integer from 0 to 255', 'restart'),
  'i2c-addr': spec('integer', 0x6d, integer(0x03, 0x77), 'an integer from 0x03 to 0x77', 'restart'),
  'blackout-time-limit': spec(
    'number',
    5.0,
    number({ above: 0, max: 3600 }),
    'a number greater than 0 and at most 3600',
  ),
  'blackout-voltage-limit': spec('number', 9.0, number({ min: 5, max: 15 }), 'a number from 5.0 to 15.0'),
  socket: spec('string', '/run/halpid/halpid.sock', string(/^\//), 'an absolute path'),
  'socket-group': spec(
    'other',
    'adm',
    (v) => string(undefined, 1)(v) || (typeof v === 'number' && Number.isInteger(v) && v >= 0),
    'a group name or a numeric gid',
  ),
  poweroff: spec('string', '/sbin/poweroff', string(), 'a command line (a string; empty runs nothing)'),
  'poweroff-timeout': spec(
    'number',
    15,
    number({ above: 0, max: 600 }),
    'a number of seconds greater than 0 and at most 600',
  ),
  'poweroff-fallback': spec(
    'string',
    'systemctl poweroff --force',
    string(),
    'a command line (a string; empty runs nothing)',
  ),
  rtcwake: spec('string', 'rtcwake', string(undefined, 1), 'a non-empty string'),
  'dry-run': spec('boolean', false, boolean, 'true or false'),
  backend: spec(
    'other',
    'auto',
    (v) => v === 'auto' || v === 'i2c' || v === 'simulator',
    'one of auto, i2c, simulator',
    'restart',
  ),
  'api-compat': spec('other', 5, (v) => v === 5 || v === 4, '5 or 4'),
  'sim-state-file': spec('string', '', string(), 'a path, or empty for memory only', 'restart'),
  'sim-execute-commands': spec('boolean', false, boolean, 'true or false'),
  web: spec('string', '', string(ADDRESS), 'host:port, a port, or empty for off'),
  'web-token': spec('string', '', string(), 'a string'),
  'web-token-file': spec('string', '', string(ABSOLUTE_OR_EMPTY), 'an absolute path, or empty'),
  'nut-listen': spec('string', '', string(ADDRESS), 'host:port, a port (on 127.0.0.1), or empty for off', 'restart'),
  'nut-user': spec('string', '', string(), 'a user name for NUT clients (empty: no logins)', 'restart'),
  'nut-password': spec('string', '', string(), 'a string', 'restart'),
  'nut-password-file': spec('string', '', string(ABSOLUTE_OR_EMPTY), 'an absolute path, or empty', 'restart'),
  'nut-primary': spec('boolean', false, boolean, 'true or false', 'restart'),
};

export const CONFIG_KEYS = Object.keys(SPECS) as ConfigKey[];

export function defaultConfig(): DaemonConfig {
  const c = {} as Record<ConfigKey, unknown>;
  for (const k of CONFIG_KEYS) c[k] = SPECS[k].default;
  return c as unknown as DaemonConfig;
}

/** Whether a key can change on a SIGHUP reload or needs a restart. */
export const reloadKind = (key: ConfigKey): 'live' | 'restart' => SPECS[key].reload;

/** What a key's value must be, as the messages say it: "an integer from 0 to 255". */
export const expectedOf = (key: ConfigKey): string => SPECS[key].expected;

/** `i2c_bus` and `i2c-bus` are the same key. */
export const canonicalKey = (key: string): string => key.replace(/_/g, '-');

/** Accepted alternative forms (docs/configuration.md), converted before the schema check. */
function coerce(key: ConfigKey, value: unknown): unknown {
  switch (key) {
    case 'i2c-addr':
      if (typeof value === 'string') {
        const v = value.trim();
        if (/^0x[0-9a-f]+$/i.test(v)) return parseInt(v, 16);
        if (/^[0-9]+$/.test(v)) return parseInt(v, 10);
      }
      return value;
    case 'api-compat':
      return value === '5' ? 5 : value === '4' ? 4 : value;
    case 'web':
    case 'nut-listen':
      return typeof value === 'number' && Number.isInteger(value) ? String(value) : value;
    default:
      return value;
  }
}

/** A value for `key` (from a file or a flag) converted and checked; else the text of what it should be. */
export function checkConfigValue(
  key: ConfigKey,
  raw: unknown,
): { ok: true; value: unknown } | { ok: false; expected: string } {
  const value = coerce(key, raw);
  const s = SPECS[key];
  if (!s.valid(value)) return { ok: false, expected: s.expected };
  if ((key === 'web' || key === 'nut-listen') && typeof value === 'string' && value !== '') {
    const port = Number(value.slice(value.lastIndexOf(':') + 1));
    if (!(port >= 1 && port <= 65535)) return { ok: false, expected: s.expected };
  }
  return { ok: true, value };
}

export interface FileResult {
  values: Partial<DaemonConfig>;
  /** The line of each key set, for messages about keys that only fail together. */
  lines?: Partial<Record<ConfigKey, number>>;
  errors: string[];
  warnings: string[];
}

const debug = createDebug('halpid:config');

/** A command-line value; throws a usage error (exit 2) when it does not validate. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseFlagValue<K extends ConfigKey>(key: K, raw: string): DaemonConfig[K] {
  const type = SPECS[key].type;
  let value: unknown = raw;
  if (type === 'integer' && key !== 'i2c-addr') value = /^[0-9]+$/.test(raw.trim()) ? Number(raw) : raw;
  else if (type === 'number')
    value = /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(raw.trim()) ? Number(raw) : raw;
  else if (key === 'socket-group') value = /^[0-9]+$/.test(raw) ? Number(raw) : raw;
  else if ((key === 'socket' || key === 'sim-state-file') && raw !== '') value = resolve(raw); // a user typing a relative path means it
  const result = checkConfigValue(key, value);
  if (!result.ok)
    throw new UsageError(`halpid: option --${key}: expected ${result.expected}, got ${JSON.stringify(raw)}`);
  return result.value as DaemonConfig[K];
}

export interface LoadedConfig {
  config: DaemonConfig;
  /** Files read, in order. */
  files: string[];
  warnings: string[];
  /** Fatal problems (exit 1); the config is only usable when this is empty. */
  errors: string[];
  /** Keys a file or a flag set (the rest are defaults). */
  explicit: Set<ConfigKey>;
}

/**
 * defaults < files (in order) < flags. Without explicit files the default file is read if it
 * exists. A missing explicit file is an error.
 */
export function loadConfig(opts: {
  files?: string[];
  flags?: Partial<DaemonConfig>;
  defaultFile?: string;
  read?: (path: string) => string;
  /** The YAML reader (engine/config.ts's parseConfigText); needed only when a file is read. */
  parse?: (text: string, file: string) => FileResult;
}): LoadedConfig {
  const read = opts.read ?? ((p: string) => readFileSync(p, 'utf8'));
  const result: LoadedConfig = { config: defaultConfig(), files: [], warnings: [], errors: [], explicit: new Set() };
  /** Where each key was set: `file:line` or `option --key`. */
  const origin = new Map<ConfigKey, string>();
  let files = opts.files ?? [];
  if (files.length === 0) {
    const def = opts.defaultFile ?? DEFAULT_CONFIG_FILE;
    files = existsSync(def) ? [def] : [];
    if (files.length === 0) debug('no configuration file given and %s does not exist: defaults and flags only', def);
  } else {
    for (const f of files) if (!existsSync(f)) result.errors.push(`Config file not found: ${f}`);
    if (result.errors.length > 0) return result;
  }
  for (const file of files) {
    if (!opts.parse) throw new Error('loadConfig: a file to read needs the YAML reader (parse)');
    let text: string;
    try {
      text = read(file);
    } catch (err) {
      result.errors.push(`halpid: ${file}: cannot read: ${(err as Error).message}`);
      continue;
    }
    const parsed = opts.parse(text, file);
    debug('read %s: %o', file, redacted(parsed.values));
    result.files.push(file);
    result.errors.push(...parsed.errors);
    result.warnings.push(...parsed.warnings);
    Object.assign(result.config, parsed.values);
    for (const k of Object.keys(parsed.values)) {
      result.explicit.add(k as ConfigKey);
      origin.set(k as ConfigKey, `${file}:${parsed.lines?.[k as ConfigKey] ?? 0}`);
    }
  }
  Object.assign(result.config, opts.flags ?? {});
  for (const k of Object.keys(opts.flags ?? {})) {
    result.explicit.add(k as ConfigKey);
    origin.set(k as ConfigKey, `option --${k}`);
  }
  if (result.errors.length === 0) readSecrets(result, read);
  // As upsd refuses a user without a password: a NUT login anyone could pass is no login.
  if (result.config['nut-user'] !== '' && result.config['nut-password'] === '') {
    result.errors.push(
      `halpid: ${origin.get('nut-user') ?? 'nut-user'}: nut-user: needs a nut-password (a NUT user without a password is refused, as by upsd)`,
    );
  }
  debug('flags: %o', redacted(opts.flags ?? {}));
  if (result.errors.length === 0) debug('effective configuration: %o', redacted(result.config));
  else debug('configuration refused: %o', result.errors);
  return result;
}

/**
 * The secrets kept in their own files (readable by root and the halpid group only, where the main
 * file may be world-readable): `web-token-file`, `nut-password-file`. One trailing newline is not
 * part of the secret.
 */
const SECRET_FILES = [
  ['web-token-file', 'web-token'],
  ['nut-password-file', 'nut-password'],
] as const;

function readSecrets(result: LoadedConfig, read: (path: string) => string): void {
  for (const [fileKey, key] of SECRET_FILES) {
    const path = result.config[fileKey];
    if (!path) continue;
    if (result.explicit.has(key)) {
      result.errors.push(`halpid: ${key} and ${fileKey} are both set; keep one`);
      continue;
    }
    let text: string;
    try {
      text = read(path).replace(/\r?\n$/, '');
    } catch (err) {
      result.errors.push(`halpid: ${fileKey}: cannot read ${path}: ${(err as Error).message}`);
      continue;
    }
    if (text === '') result.errors.push(`halpid: ${fileKey}: ${path} is empty`);
    else result.config[key] = text;
  }
}

/** The configuration with its secret (the web token) masked, for debug output. */
export function redacted<T extends Partial<DaemonConfig>>(c: T): T {
  let out = c;
  if (c['web-token']) out = { ...out, 'web-token': '***' };
  if (c['nut-password']) out = { ...out, 'nut-password': '***' };
  return out;
}

/**
 * loadConfig, with the YAML reader loaded only when a file is to be read (the daemon's start and
 * reload use this).
 */
export async function readConfig(opts: {
  files?: string[];
  flags?: Partial<DaemonConfig>;
  defaultFile?: string;
}): Promise<LoadedConfig> {
  const files = opts.files ?? [];
  const reads = files.length > 0 || existsSync(opts.defaultFile ?? DEFAULT_CONFIG_FILE);
  const parse = reads ? (await import('./config.js')).parseConfigText : undefined;
  return loadConfig({ ...opts, parse });
}

/** Keys whose values differ between two configurations. */
export function changedKeys(a: DaemonConfig, b: DaemonConfig): ConfigKey[] {
  return CONFIG_KEYS.filter((k) => a[k] !== b[k]);
}
