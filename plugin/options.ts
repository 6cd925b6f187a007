// The plugin's settings (docs/signalk.md): one typebox schema gives the Admin UI form (titles,
// descriptions, defaults, bounds) and the same defaults and checks in code, because the server
// passes `{}` on first enable and never validates what it stores.

import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

const PREFIX_PATTERN = '^[A-Za-z][A-Za-z0-9_]*(\\.[A-Za-z][A-Za-z0-9_]*)*$';

const engineSchema = Type.Object(
  {
    i2cBus: Type.Integer({
      title: 'I2C bus',
      description: 'The controller is on /dev/i2c-<bus>.',
      default: 1,
      minimum: 0,
      maximum: 255,
    }),
    i2cAddress: Type.Integer({
      title: 'I2C address',
      description: "The controller's address (109 = 0x6D).",
      default: 109,
      minimum: 3,
      maximum: 119,
    }),
    blackoutVoltageLimit: Type.Number({
      title: 'Blackout voltage limit (V)',
      description: 'An input voltage below this is a power cut.',
      default: 9.0,
      minimum: 5.0,
      maximum: 15.0,
    }),
    blackoutTimeLimit: Type.Number({
      title: 'Blackout time limit (s)',
      description: 'How long a power cut may last before the computer is shut down.',
      default: 5.0,
      exclusiveMinimum: 0,
      maximum: 3600,
    }),
    poweroffCommand: Type.String({
      title: 'Poweroff command',
      description:
        'Runs as the Signal K server\'s user, which must be allowed to power off (for example "sudo -n /sbin/poweroff" with a sudoers rule). Empty: run nothing.',
      default: '/sbin/poweroff',
    }),
    watchdogTimeout: Type.Number({
      title: 'Watchdog timeout (s)',
      description:
        "The controller power-cycles the computer when the plugin stops feeding it for this long. 0 = off; otherwise 10 to 65.535. Longer than halpid's 10 s because a Signal K restart can take longer.",
      default: 60,
      minimum: 0,
      maximum: 65.535,
    }),
  },
  {
    title: 'Driving the controller',
    description: 'Applies only when the plugin drives the controller itself (engine and simulator modes).',
    default: {},
  },
);

const notificationsSchema = Type.Object(
  {
    blackout: Type.Boolean({
      title: 'Blackout alarm',
      description: 'Alarm while running on the supercap; emergency when the shutdown starts.',
      default: true,
    }),
    shutdown: Type.Boolean({
      title: 'Shutdown notifications',
      description: 'Shutdown, standby and a failed poweroff command.',
      default: true,
    }),
    connection: Type.Boolean({
      title: 'Connection notification',
      description: 'When halpid or the controller stops answering.',
      default: true,
    }),
    temperatureZones: Type.Boolean({
      title: 'Temperature zones',
      description: 'Warn and alarm zones on the temperatures; the server raises the notifications.',
      default: true,
    }),
    mcuTempWarn: Type.Number({ title: 'Controller temperature warning (°C)', default: 75, minimum: -40, maximum: 100 }),
    mcuTempAlarm: Type.Number({
      title: 'Controller temperature alarm (°C)',
      description: 'Above the warning.',
      default: 85,
      minimum: -40,
      maximum: 100,
    }),
    pcbTempWarn: Type.Number({ title: 'Board temperature warning (°C)', default: 60, minimum: -40, maximum: 100 }),
    pcbTempAlarm: Type.Number({
      title: 'Board temperature alarm (°C)',
      description: 'Above the warning.',
      default: 70,
      minimum: -40,
      maximum: 100,
    }),
  },
  { title: 'Notifications', default: {} },
);

const nutSchema = Type.Object(
  {
    enabled: Type.Boolean({
      title: 'NUT server',
      description:
        'Serve the Network UPS Tools protocol (UPS halpi2) so that upsmon on other computers can shut down with this one. Engine and simulator modes only (halpid has its own --nut).',
      default: false,
    }),
    listen: Type.String({
      title: 'NUT server address',
      description: "host:port, or a port on 127.0.0.1 (3493 is NUT's own).",
      default: '',
      pattern: '^(|[0-9]{1,5}|[^\\s/]+:[0-9]{1,5})$',
    }),
    user: Type.String({
      title: 'NUT user',
      description: 'The user upsmon logs in with (a secondary). Empty: no logins.',
      default: '',
    }),
    password: Type.String({ title: 'NUT password', default: '' }),
  },
  { title: 'Network UPS Tools', default: {} },
);

const controlSchema = Type.Object(
  {
    usb: Type.Boolean({ title: 'USB ports', description: 'Allow switching the USB ports with PUT.', default: true }),
    config: Type.Boolean({
      title: 'Controller configuration',
      description: "Allow changing the controller's settings with PUT.",
      default: true,
    }),
    power: Type.Boolean({
      title: 'Shutdown and standby',
      description:
        'Warning: anyone with write access to Signal K (anyone on the network when security is off) can then shut this computer down.',
      default: false,
    }),
  },
  { title: 'Control', default: {} },
);

/** The modes with the labels the Admin UI shows for them. */
export const MODES = {
  auto: 'Automatic: use a running halpid, else drive the controller',
  client: 'Client of halpid',
  engine: 'Drive the controller on the I2C bus',
  simulator: 'Simulator (demonstration)',
} as const;

export const optionsSchema = Type.Object({
  mode: Type.Union([Type.Literal('auto'), Type.Literal('client'), Type.Literal('engine'), Type.Literal('simulator')], {
    title: 'Mode',
    description:
      'Automatic uses a running halpid, else drives the controller itself; client only reads halpid; engine only drives the controller; the simulator is for demonstrations.',
    default: 'auto',
  }),
  socketPath: Type.String({
    title: 'halpid socket',
    description: 'Where halpid listens (absolute path).',
    default: '/run/halpid/halpid.sock',
    pattern: '^/',
  }),
  pollInterval: Type.Integer({
    title: 'Poll interval (ms)',
    description: 'How often measurements are published.',
    default: 1000,
    minimum: 200,
    maximum: 60000,
  }),
  pathPrefix: Type.String({
    title: 'Path prefix',
    description: 'Signal K paths start with this.',
    default: 'electrical.halpi',
    pattern: PREFIX_PATTERN,
  }),
  staleTimeout: Type.Number({
    title: 'Stale timeout (s)',
    description: 'With no data for this long (at least three poll intervals), the values become null.',
    default: 5,
    minimum: 1,
    maximum: 600,
  }),
  engine: engineSchema,
  notifications: notificationsSchema,
  control: controlSchema,
  nut: nutSchema,
});

export type PluginOptions = Static<typeof optionsSchema>;

function defaultsOf(schema: TSchema): unknown {
  if (schema.type === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, s] of Object.entries(schema.properties as Record<string, TSchema>)) out[k] = defaultsOf(s);
    return out;
  }
  return schema.default;
}

export const DEFAULT_OPTIONS = defaultsOf(optionsSchema) as PluginOptions;

export interface ResolvedOptions {
  options: PluginOptions;
  /** One line per value replaced by its default, e.g. `pollInterval: must be >= 200 (got 50); using 1000`. */
  problems: string[];
}

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v)));

/**
 * Merge the defaults into what the server passed and check each value against its schema; a value
 * that fails is replaced by its default and reported. Unknown keys are reported and dropped.
 */
export function resolveOptions(raw: unknown): ResolvedOptions {
  const problems: string[] = [];
  raw = withNutEnabled(raw);
  const walk = (schema: TSchema, value: unknown, path: string): unknown => {
    if (schema.type === 'object') {
      const props = schema.properties as Record<string, TSchema>;
      const given =
        value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
      if (value !== undefined && given !== value)
        problems.push(`${path || 'configuration'}: must be an object (got ${show(value)}); using the defaults`);
      const out: Record<string, unknown> = {};
      for (const [k, s] of Object.entries(props)) out[k] = walk(s, given[k], path ? `${path}.${k}` : k);
      for (const k of Object.keys(given))
        if (!(k in props)) problems.push(`${path ? `${path}.` : ''}${k}: unknown option, ignored`);
      return out;
    }
    if (value === undefined || value === null) return schema.default;
    if (Value.Check(schema, value)) return value;
    const first = [...Value.Errors(schema, value)][0];
    problems.push(
      `${path}: ${first?.message.toLowerCase() ?? 'invalid'} (got ${show(value)}); using ${show(schema.default)}`,
    );
    return schema.default;
  };
  const options = walk(optionsSchema, raw ?? {}, '') as PluginOptions;
  // Cross-field rules the schema cannot say.
  const n = options.notifications;
  for (const [warn, alarm] of [
    ['mcuTempWarn', 'mcuTempAlarm'],
    ['pcbTempWarn', 'pcbTempAlarm'],
  ] as const) {
    if (!(n[alarm] > n[warn])) {
      const d = DEFAULT_OPTIONS.notifications;
      problems.push(
        `notifications.${alarm}: must be above notifications.${warn} (got ${n[alarm]} and ${n[warn]}); using ${d[warn]} and ${d[alarm]}`,
      );
      n[warn] = d[warn];
      n[alarm] = d[alarm];
    }
  }
  if (options.nut.enabled && options.nut.listen === '') {
    problems.push('nut.listen: needed when the NUT server is on; the NUT server stays off');
    options.nut.enabled = false;
  }
  const wd = options.engine.watchdogTimeout;
  if (wd !== 0 && wd < 10) {
    problems.push(
      `engine.watchdogTimeout: must be 0 or from 10 to 65.535 (got ${wd}); using ${DEFAULT_OPTIONS.engine.watchdogTimeout}`,
    );
    options.engine.watchdogTimeout = DEFAULT_OPTIONS.engine.watchdogTimeout;
  }
  return { options, problems };
}

/**
 * Before `nut.enabled` existed, a non-empty `nut.listen` switched the NUT server on: such a
 * configuration keeps its server running.
 */
function withNutEnabled(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const nut = (raw as { nut?: unknown }).nut;
  if (nut === null || typeof nut !== 'object' || Array.isArray(nut)) return raw;
  const n = nut as { enabled?: unknown; listen?: unknown };
  if (n.enabled !== undefined || typeof n.listen !== 'string' || n.listen === '') return raw;
  return { ...raw, nut: { ...n, enabled: true } };
}

/** The effective stale timeout in ms: max(staleTimeout, 3 × pollInterval). */
export const staleTimeoutMs = (o: PluginOptions): number => Math.max(o.staleTimeout * 1000, 3 * o.pollInterval);
