// The PUT handlers (docs/signalk.md): each USB port, the controller configuration, and shutdown
// and standby behind `control.power` with an explicit confirmation object. Each returns an
// ActionResult whose statusCode becomes the HTTP status of the Signal K PUT.

import { configValueProblem } from '../engine/config-ranges.js';
import type { ConfigKey } from '../engine/device.js';
import { parseJson } from '../engine/api/json-parse.js';
import { parseStandby } from '../engine/api/standby.js';
import type { PluginOptions } from './options.js';
import { ActionError, type Source, type StandbyRequest } from './source.js';

export interface ActionResult {
  state: 'COMPLETED' | 'PENDING';
  statusCode: number;
  message?: string;
}

export type PutHandler = (context: string, path: string, value: unknown) => Promise<ActionResult>;

export interface PutSpec {
  leaf: string;
  group: 'usb' | 'config' | 'power';
  /** The value in the source's terms, or a rule the value broke ("must be …"). */
  check(value: unknown): { ok: true; apply: (s: Source) => Promise<void> } | { ok: false; rule: string };
}

const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A numeric setting, checked against the ranges halpi and the panel use (engine/config-ranges.ts). */
function numberIn(key: Exclude<ConfigKey, 'auto_restart' | 'led_brightness'>) {
  return (value: unknown) => {
    const problem = configValueProblem(key, value);
    return problem === null
      ? { ok: true as const, apply: (s: Source) => s.setConfig(key, value as number) }
      : { ok: false as const, rule: problem };
  };
}

export const PUTS: readonly PutSpec[] = [
  ...[0, 1, 2, 3].map((n): PutSpec => ({
    leaf: `usb.port${n}`,
    group: 'usb',
    check: (v) => (isBool(v) ? { ok: true, apply: (s) => s.setUsb(n, v) } : { ok: false, rule: 'true or false' }),
  })),
  {
    leaf: 'watchdog.timeout',
    group: 'config',
    check: numberIn('watchdog_timeout'),
  },
  { leaf: 'config.powerOnThreshold', group: 'config', check: numberIn('power_on_threshold') },
  {
    leaf: 'config.soloPowerOffThreshold',
    group: 'config',
    check: numberIn('solo_power_off_threshold'),
  },
  {
    leaf: 'config.ledBrightness',
    group: 'config',
    check: (v) =>
      isNum(v) && v >= 0 && v <= 1
        ? { ok: true, apply: (s) => s.setConfig('led_brightness', Math.round(v * 255)) }
        : { ok: false, rule: 'a ratio from 0 to 1' },
  },
  {
    leaf: 'config.autoRestart',
    group: 'config',
    check: (v) =>
      isBool(v) ? { ok: true, apply: (s) => s.setConfig('auto_restart', v) } : { ok: false, rule: 'true or false' },
  },
  { leaf: 'config.soloDepletingTimeout', group: 'config', check: numberIn('solo_depleting_timeout') },
  {
    leaf: 'commands.shutdown',
    group: 'power',
    check: (v) =>
      isObj(v) && v.confirm === 'shutdown' && Object.keys(v).length === 1
        ? { ok: true, apply: (s) => s.shutdown() }
        : { ok: false, rule: '{"confirm":"shutdown"}' },
  },
  { leaf: 'commands.standby', group: 'power', check: checkStandby },
];

const STANDBY_RULE = '{"confirm":"standby","delay":<seconds>} or {"confirm":"standby","datetime":"<time>"}';

function checkStandby(v: unknown): ReturnType<PutSpec['check']> {
  if (!isObj(v) || v.confirm !== 'standby') return { ok: false, rule: STANDBY_RULE };
  const keys = Object.keys(v).filter((k) => k !== 'confirm');
  let request: StandbyRequest;
  if (keys.length === 1 && keys[0] === 'delay' && Number.isInteger(v.delay) && (v.delay as number) >= 0)
    request = { delay: v.delay as number };
  else if (keys.length === 1 && keys[0] === 'datetime' && typeof v.datetime === 'string')
    request = { datetime: v.datetime };
  else return { ok: false, rule: STANDBY_RULE };
  // The daemon's own rules for the time (past, unparsable, not a local time), checked here too.
  const parsed = parseStandby(parseJson(JSON.stringify(request)), Date.now());
  if (!parsed.ok) {
    if (/in the future/.test(parsed.message))
      return { ok: false, rule: `a time in the future (got ${JSON.stringify(v.datetime)})` };
    return {
      ok: false,
      rule: `a date and time such as "2025-11-08T12:00:00Z" or "2025-11-08 12:00:00", or in the forms of halpi standby (got ${JSON.stringify(v.datetime)})`,
    };
  }
  return { ok: true, apply: (s) => s.standby(request) };
}

/**
 * The PUT paths the options switch off. Their metadata says `supportsPut: false`, because the
 * server keeps a `true` from an earlier run with them on, and the panel reads it.
 */
export function refusedPutPaths(options: PluginOptions): string[] {
  return PUTS.filter((p) => !options.control[p.group]).map((p) => `${options.pathPrefix}.${p.leaf}`);
}

/** The handlers the options allow, each bound to the source of the moment. */
export function putHandlers(
  options: PluginOptions,
  current: () => Source | null,
  after: () => Promise<void>,
): Array<{ path: string; handler: PutHandler }> {
  const allowed = PUTS.filter((p) => options.control[p.group]);
  return allowed.map((p) => {
    const path = `${options.pathPrefix}.${p.leaf}`;
    const handler: PutHandler = async (_context, _path, value) => {
      const checked = p.check(value);
      if (!checked.ok) return { state: 'COMPLETED', statusCode: 400, message: `${path} must be ${checked.rule}` };
      const source = current();
      if (!source) return { state: 'COMPLETED', statusCode: 503, message: 'The HALPI2 plugin is not connected yet' };
      try {
        await checked.apply(source);
      } catch (err) {
        if (err instanceof ActionError) return { state: 'COMPLETED', statusCode: err.statusCode, message: err.message };
        return { state: 'COMPLETED', statusCode: 502, message: (err as Error).message };
      }
      await after().catch(() => {});
      return { state: 'COMPLETED', statusCode: 200 };
    };
    return { path, handler };
  });
}
