// The daemon's configuration (docs/configuration.md): one typebox schema gives the defaults, the
// validation and the "expected …" texts. YAML files are read with line numbers so that every
// message names file, line and key; flags are validated with the same schema.

import createDebug from 'debug';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { isMap, isScalar, LineCounter, parseDocument, stringify, type Pair } from 'yaml';

export const DEFAULT_CONFIG_FILE = '/etc/halpid/halpid.conf';

/** `expected` is the text of the validation message; `reload` says how SIGHUP treats the key. */
const opts = (expected: string, reload: 'live' | 'restart' = 'live') => ({ expected, reload });

export const DaemonConfigSchema = Type.Object({
  'i2c-bus': Type.Integer({ minimum: 0, maximum: 255, default: 1, ...opts('an integer from 0 to 255', 'restart') }),
  'i2c-addr': Type.Integer({
    minimum: 0x03,
    maximum: 0x77,
    default: 0x6d,
    ...opts('an integer from 0x03 to 0x77', 'restart'),
  }),
  'blackout-time-limit': Type.Number({
    exclusiveMinimum: 0,
    maximum: 3600,
    default: 5.0,
    ...opts('a number greater than 0 and at most 3600'),
  }),
  'blackout-voltage-limit': Type.Number({
    minimum: 5,
    maximum: 15,
    default: 9.0,
    ...opts('a number from 5.0 to 15.0'),
  }),
  socket: Type.String({ pattern: '^/', default: '/run/halpid/halpid.sock', ...opts('an absolute path') }),
  'socket-group': Type.Union([Type.String({ minLength: 1 }), Type.Integer({ minimum: 0 })], {
    default: 'adm',
    ...opts('a group name or a numeric gid'),
  }),
  poweroff: Type.String({ default: '/sbin/poweroff', ...opts('a command line (a string; empty runs nothing)') }),
  'poweroff-timeout': Type.Number({
    exclusiveMinimum: 0,
    maximum: 600,
    default: 15,
    ...opts('a number of seconds greater than 0 and at most 600'),
  }),
  'poweroff-fallback': Type.String({
    default: 'systemctl poweroff --force',
    ...opts('a command line (a string; empty runs nothing)'),
  }),
  rtcwake: Type.String({ minLength: 1, default: 'rtcwake', ...opts('a non-empty string') }),
  'dry-run': Type.Boolean({ default: false, ...opts('true or false') }),
  backend: Type.Union([Type.Literal('auto'), Type.Literal('i2c'), Type.Literal('simulator')], {
    default: 'auto',
    ...opts('one of auto, i2c, simulator', 'restart'),
  }),
  'api-compat': Type.Union([Type.Literal(5), Type.Literal(4)], { default: 5, ...opts('5 or 4') }),
  'sim-state-file': Type.String({ default: '', ...opts('a path, or empty for memory only', 'restart') }),
  'sim-execute-commands': Type.Boolean({ default: false, ...opts('true or false') }),
  web: Type.String({
    default: '',
    pattern: '^(|[0-9]{1,5}|[^\\s/]+:[0-9]{1,5})$',
    ...opts('host:port, a port, or empty for off'),
  }),
  'web-token': Type.String({ default: '', ...opts('a string') }),
  'web-token-file': Type.String({ default: '', pattern: '^(|/.*)$', ...opts('an absolute path, or empty') }),
  'nut-listen': Type.String({
    default: '',
    pattern: '^(|[0-9]{1,5}|[^\\s/]+:[0-9]{1,5})$',
    ...opts('host:port, a port (on 127.0.0.1), or empty for off', 'restart'),
  }),
  'nut-user': Type.String({ default: '', ...opts('a user name for NUT clients (empty: no logins)', 'restart') }),
  'nut-password': Type.String({ default: '', ...opts('a string', 'restart') }),
  'nut-password-file': Type.String({
    default: '',
    pattern: '^(|/.*)$',
    ...opts('an absolute path, or empty', 'restart'),
  }),
  'nut-primary': Type.Boolean({ default: false, ...opts('true or false', 'restart') }),
});

export type DaemonConfig = Static<typeof DaemonConfigSchema>;
export type ConfigKey = keyof DaemonConfig;

const PROPS = DaemonConfigSchema.properties as unknown as Record<
  ConfigKey,
  TSchema & { expected: string; reload: 'live' | 'restart' }
>;
export const CONFIG_KEYS = Object.keys(PROPS) as ConfigKey[];

export function defaultConfig(): DaemonConfig {
  return Value.Default(DaemonConfigSchema, {}) as DaemonConfig;
}

/** Whether a key can change on a SIGHUP reload or needs a restart. */
export const reloadKind = (key: ConfigKey): 'live' | 'restart' => PROPS[key].reload;

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

function check(key: ConfigKey, raw: unknown): { ok: true; value: unknown } | { ok: false; expected: string } {
  const value = coerce(key, raw);
  const schema = PROPS[key];
  if (!Value.Check(schema, value)) return { ok: false, expected: schema.expected };
  if ((key === 'web' || key === 'nut-listen') && typeof value === 'string' && value !== '') {
    const port = Number(value.slice(value.lastIndexOf(':') + 1));
    if (!(port >= 1 && port <= 65535)) return { ok: false, expected: schema.expected };
  }
  return { ok: true, value };
}

const got = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

export interface FileResult {
  values: Partial<DaemonConfig>;
  /** The line of each key set, for messages about keys that only fail together. */
  lines?: Partial<Record<ConfigKey, number>>;
  errors: string[];
  warnings: string[];
}

/** Parse one file's text; every problem is reported, each naming file, line and key. */
export function parseConfigText(text: string, file: string): FileResult {
  const out: FileResult = { values: {}, errors: [], warnings: [] };
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const pos = lines.linePos(err.pos[0]);
      const message = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      out.errors.push(`halpid: ${file}:${pos.line}:${pos.col}: YAML syntax error: ${message}`);
    }
    return out;
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return out;
  if (!isMap(doc.contents)) {
    out.errors.push(`halpid: ${file}: expected a mapping of settings`);
    return out;
  }
  const seen = new Map<string, { spelled: string; line: number }>();
  for (const pair of doc.contents.items as Pair[]) {
    const keyNode = pair.key;
    const spelled = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
    const line = lines.linePos(isScalar(keyNode) && keyNode.range ? keyNode.range[0] : 0).line;
    const key = canonicalKey(spelled);
    const first = seen.get(key);
    if (first) {
      out.errors.push(`halpid: ${file}:${line}: ${spelled}: duplicate of ${first.spelled} on line ${first.line}`);
      continue;
    }
    seen.set(key, { spelled, line });
    if (!(CONFIG_KEYS as string[]).includes(key)) {
      out.warnings.push(`halpid: ${file}:${line}: warning: unknown key ${JSON.stringify(spelled)} ignored`);
      continue;
    }
    const valueNode = pair.value;
    if (valueNode !== null && !isScalar(valueNode)) {
      out.errors.push(
        `halpid: ${file}:${line}: ${spelled}: expected ${PROPS[key as ConfigKey].expected}, got a ${isMap(valueNode) ? 'mapping' : 'list'}`,
      );
      continue;
    }
    const raw = valueNode === null ? null : valueNode.value;
    if (raw === null) continue; // `socket:` means "use the default"
    const result = check(key as ConfigKey, raw);
    if (result.ok) {
      (out.values as Record<string, unknown>)[key] = result.value;
      (out.lines ??= {})[key as ConfigKey] = line;
    } else out.errors.push(`halpid: ${file}:${line}: ${spelled}: expected ${result.expected}, got ${got(raw)}`);
  }
  return out;
}

const debug = createDebug('halpid:config');

/** A command-line value; throws a usage error (exit 2) when it does not validate. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseFlagValue<K extends ConfigKey>(key: K, raw: string): DaemonConfig[K] {
  const schema = PROPS[key];
  let value: unknown = raw;
  if (schema.type === 'integer' && key !== 'i2c-addr') value = /^[0-9]+$/.test(raw.trim()) ? Number(raw) : raw;
  else if (schema.type === 'number')
    value = /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(raw.trim()) ? Number(raw) : raw;
  else if (key === 'socket-group') value = /^[0-9]+$/.test(raw) ? Number(raw) : raw;
  else if ((key === 'socket' || key === 'sim-state-file') && raw !== '') value = resolve(raw); // a user typing a relative path means it
  const result = check(key, value);
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
    let text: string;
    try {
      text = read(file);
    } catch (err) {
      result.errors.push(`halpid: ${file}: cannot read: ${(err as Error).message}`);
      continue;
    }
    const parsed = parseConfigText(text, file);
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

/** The configuration as a YAML file would say it (the web token masked), for --config-check. */
export const configYaml = (c: DaemonConfig): string => stringify(redacted(c));

/** Keys whose values differ between two configurations. */
export function changedKeys(a: DaemonConfig, b: DaemonConfig): ConfigKey[] {
  return CONFIG_KEYS.filter((k) => a[k] !== b[k]);
}
