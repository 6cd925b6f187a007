// The halpid HTTP API as a request handler (docs/api.md): dialect 5 byte for byte, dialect 4,
// and the additions /events, /metrics and /sim. The route table and the 404/405 mapping are our
// own so that every status, header and byte is as specified; the handler mounts on node:http,
// on express (the web listener) and inside Signal K.

import type { IncomingMessage, ServerResponse } from 'node:http';
import createDebug from 'debug';
import { RtcwakeError } from '../commands.js';
import { CONFIG_KEYS, encodeConfig, type ConfigKey } from '../device.js';
import type { Engine } from '../engine.js';
import { STATUS_FALLBACK, usbObject } from '../engine.js';
import { apiErrorText, ControllerError } from '../errors.js';
import { FirmwareImageError } from '../firmware-image.js';
import { encodeBrightness } from '../registers.js';
import { EventHub, MAX_STREAMS } from './events.js';
import { historyAnswer } from './history.js';
import { readFirmware } from './flash.js';
import {
  decodeParam,
  discardBody,
  parseU8,
  readBoolean,
  readJson,
  rejectShape,
  sendEmpty,
  sendError,
  sendJson,
  sendText,
  type Ctx,
} from './http.js';
import { type JsonValue } from './json-parse.js';
import { float, type Dialect } from './json-write.js';
import { HttpCounters, renderMetrics, type FaceStatus, type ListenerConnections } from './metrics.js';
import { simRoutes } from './sim.js';
import { parseStandby } from './standby.js';
import { parseStandby4 } from './standby4.js';
import { configField, configObject, MEASUREMENT_KEYS, measurementField, valuesObject } from './values.js';
import { V4_VALUE_KEYS, V5_VALUE_KEYS } from './value-keys.js';

// Stryker disable next-line all: debug output only
const debug = createDebug('halpid:http');

export interface ApiOptions {
  engine: Engine;
  version: string;
  /** The dialect for the next request (api-compat can change on a reload). */
  dialect: () => Dialect;
  /** Who writes through this listener, for the log lines of USB and setting changes ('the socket API'). */
  origin?: string;
  /** Serve POST /flash (never over the web listener). Default true. */
  flash?: boolean;
  /** Counters shared between listeners, for /metrics. */
  counters?: HttpCounters;
  /** Event hub shared between listeners (one stream limit for the daemon). */
  events?: EventHub;
  /** Event streams this listener may hold (its own budget, whatever other listeners hold). */
  maxStreams?: number;
  /** Largest JSON body taken (413 beyond); BODY_LIMIT by default. */
  bodyLimit?: number;
  /** The daemon's optional faces, for /metrics. */
  faces?: () => FaceStatus[];
  /** The daemon's listeners' connections, for /metrics. */
  connections?: () => ListenerConnections[];
}

export interface Route {
  path: string;
  methods: string[];
  handle: (ctx: Ctx) => Promise<void> | void;
}

export interface Api {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Close open event streams. */
  close(): void;
  readonly events: EventHub;
  readonly counters: HttpCounters;
}

const V5_KEYS: ReadonlySet<string> = new Set(V5_VALUE_KEYS);
const V4_KEYS: ReadonlySet<string> = new Set(V4_VALUE_KEYS);

const message = apiErrorText;

/** The query of a URL without one, shared by those requests: routes only read a query. */
const NO_QUERY = new URLSearchParams();

/** The client's tag for its upload's progress events: short and plain, else ignored. */
const uploadTag = (header: string | string[] | undefined): string | undefined =>
  typeof header === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(header) ? header : undefined;

export function createApi(opts: ApiOptions): Api {
  const { engine, version } = opts;
  const origin = opts.origin ?? 'the API';
  const counters = opts.counters ?? new HttpCounters();
  const events = opts.events ?? new EventHub(engine, version, opts.dialect);
  const streams = { max: opts.maxStreams ?? MAX_STREAMS, open: 0 };

  const notFoundKey = (ctx: Ctx, status: 404 | 400, text: string): void => {
    // aiohttp (halpid 4.0.7) labels its empty 404 application/octet-stream.
    if (ctx.dialect === 4) sendEmpty(ctx, 404, { 'Content-Type': 'application/octet-stream' });
    else sendError(ctx, status, text);
  };

  const routes: Route[] = [
    { path: '/', methods: ['GET'], handle: (ctx) => sendText(ctx, 200, 'This is halpid!\n') },
    { path: '/version', methods: ['GET'], handle: (ctx) => sendJson(ctx, 200, { daemon_version: version }) },
    {
      path: '/values',
      methods: ['GET'],
      handle: (ctx) => {
        // Answered within this turn when the bus answers at once (the simulator): no promise.
        const v = engine.valuesNow(ctx.dialect === 4);
        if (!(v instanceof Promise)) return sendJson(ctx, 200, valuesObject(v, version, ctx.dialect));
        return v.then(
          (v) => sendJson(ctx, 200, valuesObject(v, version, ctx.dialect)),
          (err: unknown) => sendError(ctx, 500, message(err)),
        );
      },
    },
    {
      path: '/values/:key',
      methods: ['GET'],
      handle: async (ctx) => {
        // V_supercap is also a dialect-5 key: the HALPI2 user guide's curl examples use it
        // (docs/api.md, deliberate differences); /values itself stays byte-exact.
        const key = ctx.dialect === 5 && ctx.params.key === 'V_supercap' ? 'V_cap' : ctx.params.key!;
        if (!(ctx.dialect === 4 ? V4_KEYS : V5_KEYS).has(key)) return notFoundKey(ctx, 404, `Unknown key: ${key}`);
        try {
          sendJson(ctx, 200, await readValueKey(engine, key, version, ctx.dialect));
        } catch (err) {
          sendError(ctx, 500, message(err));
        }
      },
    },
    {
      path: '/config',
      methods: ['GET'],
      handle: async (ctx) => sendJson(ctx, 200, configObject(await engine.readConfig())),
    },
    {
      path: '/config/:key',
      methods: ['GET', 'PUT'],
      handle: async (ctx) => {
        const key = ctx.params.key!;
        const known = (CONFIG_KEYS as readonly string[]).includes(key);
        if (ctx.req.method !== 'PUT') {
          if (!known) return notFoundKey(ctx, 404, `Unknown config key: ${key}`);
          try {
            const value = await engine.readConfigKey(key as ConfigKey);
            sendJson(ctx, 200, configField({ [key]: value } as never, key as ConfigKey));
          } catch {
            sendError(ctx, 404, `Unknown config key: ${key}`);
          }
          return;
        }
        const body = await readJson(ctx);
        if (body === null) return;
        if (!known) return notFoundKey(ctx, 400, `Unknown config key: ${key}`);
        const raw = ctx.dialect === 4 ? configRaw4(key as ConfigKey, body) : configRaw(key as ConfigKey, body);
        if (raw === null) {
          if (ctx.dialect === 5) return sendError(ctx, 400, 'Invalid value type');
          return sendError(
            ctx,
            400,
            key === 'auto_restart' ? 'Value must be a boolean or number' : 'Value must be a number',
          );
        }
        try {
          await engine.writeConfigRaw(key as ConfigKey, raw, origin);
        } catch (err) {
          return sendError(ctx, 400, message(err));
        }
        if (ctx.dialect === 4) sendEmpty(ctx, 204);
        else sendJson(ctx, 200, { status: 'ok' });
      },
    },
    {
      path: '/usb',
      methods: ['GET', 'PUT'],
      handle: async (ctx) => {
        if (ctx.req.method !== 'PUT') {
          try {
            const bits = await engine.readUsb();
            sendJson(ctx, 200, { ...usbObject(bits) });
          } catch (err) {
            sendError(ctx, 500, `Failed to get USB port states: ${message(err)}`);
          }
          return;
        }
        const body = await readJson(ctx);
        if (body === null) return;
        if (ctx.dialect === 4 && body.t !== 'obj') return sendError(ctx, 400, 'Expected JSON object');
        const change = (bits: number): number => {
          if (body.t !== 'obj') return bits;
          for (let port = 0; port < 4; port++) {
            const v = body.v.get(`usb${port}`);
            if (v?.t === 'bool') bits = v.v ? bits | (1 << port) : bits & ~(1 << port);
          }
          return bits;
        };
        try {
          await engine.updateUsb(change, origin);
          sendEmpty(ctx, 204);
        } catch (err) {
          const read = err instanceof ControllerError && err.op === 'read';
          sendError(
            ctx,
            500,
            `${read ? 'Failed to get current USB port states' : 'Failed to set USB port states'}: ${message(err)}`,
          );
        }
      },
    },
    {
      path: '/usb/:port',
      methods: ['GET', 'PUT'],
      handle: async (ctx) => {
        const port = Number(ctx.params.port);
        // halpid 4.0.7's words in dialect 4, 5.0.2's otherwise.
        const badPort = ctx.dialect === 4 ? 'Port must be 0-3' : 'Invalid port number, must be 0-3';
        if (ctx.req.method !== 'PUT') {
          if (port > 3) return sendError(ctx, 400, badPort);
          try {
            const bits = await engine.readUsb();
            sendJson(ctx, 200, (bits & (1 << port)) !== 0);
          } catch (err) {
            sendError(ctx, 500, `Failed to get USB port state: ${message(err)}`);
          }
          return;
        }
        if (ctx.dialect === 4 && port > 3) {
          discardBody(ctx.req);
          return sendError(ctx, 400, badPort);
        }
        let on: boolean | null;
        if (ctx.dialect === 4) {
          const body = await readJson(ctx);
          if (body === null) return;
          if (body.t !== 'bool') return sendError(ctx, 400, 'Value must be a boolean');
          on = body.v;
        } else {
          on = await readBoolean(ctx);
          if (on === null) return;
          if (port > 3) return sendError(ctx, 400, badPort);
        }
        try {
          await engine.updateUsb((bits) => (on ? bits | (1 << port) : bits & ~(1 << port)), origin);
          sendEmpty(ctx, 204);
        } catch (err) {
          const read = err instanceof ControllerError && err.op === 'read';
          sendError(
            ctx,
            500,
            `${read ? 'Failed to get current USB port state' : 'Failed to set USB port state'}: ${message(err)}`,
          );
        }
      },
    },
    {
      path: '/shutdown',
      methods: ['POST'],
      handle: async (ctx) => {
        discardBody(ctx.req);
        try {
          await engine.requestShutdown();
          sendEmpty(ctx, 204);
        } catch (err) {
          sendError(ctx, 500, `Failed to request shutdown: ${message(err)}`);
        }
      },
    },
    {
      path: '/standby',
      methods: ['POST'],
      handle: async (ctx) => {
        const body = await readJson(ctx);
        if (body === null) return;
        const now = engine.clock.wallNow();
        // Dialect 4 reads the body as halpid 4.0.7 did (free text, int() coercions, its words).
        const parsed = ctx.dialect === 4 ? await parseStandby4(body, now) : parseStandby(body, now);
        if (!parsed.ok) {
          if (parsed.status === 422) return rejectShape(ctx, parsed.message);
          return sendError(ctx, 400, parsed.message);
        }
        try {
          await engine.requestStandby(parsed.wakeup, parsed.text);
          sendEmpty(ctx, 204);
        } catch (err) {
          if (err instanceof RtcwakeError) return sendError(ctx, 500, err.message);
          sendError(ctx, 500, `Failed to request standby: ${message(err)}`);
        }
      },
    },
    { path: '/events', methods: ['GET'], handle: (ctx) => events.serve(ctx, streams) },
    {
      path: '/history',
      methods: ['GET'],
      handle: (ctx) => {
        const answer = historyAnswer(engine.history, engine.clock.wallNow(), ctx.query);
        if (!answer.ok) return sendError(ctx, 400, answer.message);
        sendText(ctx, 200, answer.body, { 'Content-Type': 'application/json' });
      },
    },
    {
      path: '/metrics',
      methods: ['GET'],
      handle: (ctx) => {
        const text = renderMetrics(engine, counters, {
          version,
          dialect: ctx.dialect,
          faces: opts.faces?.(),
          connections: opts.connections?.(),
        });
        sendText(ctx, 200, text, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
      },
    },
  ];
  if (opts.flash !== false) {
    routes.push({
      path: '/flash',
      methods: ['POST'],
      handle: async (ctx) => {
        const upload = await readFirmware(ctx.req);
        if (!upload.ok) {
          if (upload.kind === 'text') return sendText(ctx, 400, upload.message);
          return sendError(ctx, 400, upload.message);
        }
        try {
          // Runs to completion even if the client goes away. An image that is no firmware is
          // refused at once, before any DFU transaction and without waiting for a running upload.
          await engine.flash(upload.image, { tag: uploadTag(ctx.req.headers['x-halpi-upload']) });
          sendEmpty(ctx, 204);
        } catch (err) {
          if (err instanceof FirmwareImageError) return sendError(ctx, 400, err.message);
          sendError(ctx, 500, `Failed to upload firmware: ${message(err)}`);
        }
      },
    });
  }
  if (engine.simulator) routes.push(...simRoutes(engine.simulator, () => engine.invalidateMeasurements()));

  const table = routes.map((r) => ({
    ...r,
    segments: r.path === '/' ? [] : r.path.slice(1).split('/'),
    /** The route as /metrics counts it: `/usb/{port}`. */
    label: r.path.replace(/:(\w+)/g, '{$1}'),
    allow: r.methods.includes('GET')
      ? ['GET', 'HEAD', ...r.methods.filter((m) => m !== 'GET')].join(',')
      : r.methods.join(','),
  }));

  function match(path: string): { route: (typeof table)[number]; raw: Record<string, string> } | null {
    if (!path.startsWith('/')) return null;
    const segs = path === '/' ? [] : path.slice(1).split('/');
    for (const route of table) {
      if (route.segments.length !== segs.length) continue;
      let ok = true;
      for (let i = 0; i < segs.length && ok; i++) {
        const want = route.segments[i]!;
        if (want.startsWith(':') ? segs[i] === '' : want !== segs[i]) ok = false;
      }
      if (!ok) continue;
      const raw: Record<string, string> = {};
      for (let i = 0; i < segs.length; i++)
        if (route.segments[i]!.startsWith(':')) raw[route.segments[i]!.slice(1)] = segs[i]!;
      return { route, raw };
    }
    return null;
  }

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Timed only for the debug line (performance.now() would load perf_hooks at the first request).
    const started = debug.enabled ? performance.now() : 0;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q >= 0 ? url.slice(0, q) : url;
    const ctx: Ctx = {
      req,
      res,
      dialect: opts.dialect(),
      params: {},
      query: q >= 0 ? new URLSearchParams(url.slice(q + 1)) : NO_QUERY,
      bodyLimit: opts.bodyLimit,
    };
    const found = match(path);
    const method = req.method ?? 'GET';
    res.on('finish', () => {
      counters.count(method, found ? found.route.label : 'unmatched', res.statusCode);
      // Stryker disable next-line all: debug output only
      if (debug.enabled) debug('%s %s %d %s ms', method, url, res.statusCode, (performance.now() - started).toFixed(1));
    });
    if (!found) {
      discardBody(req);
      if (ctx.dialect === 4) return sendText(ctx, 404, '404: Not Found');
      return sendEmpty(ctx, 404);
    }
    const { route, raw } = found;
    const allowed = route.methods.includes(method) || (method === 'HEAD' && route.methods.includes('GET'));
    if (!allowed) {
      discardBody(req);
      if (ctx.dialect === 4) return sendText(ctx, 405, '405: Method Not Allowed', { Allow: route.allow });
      return sendEmpty(ctx, 405, { Allow: route.allow });
    }
    for (const name in raw) {
      const value = raw[name]!;
      const decoded = decodeParam(value);
      if (decoded === null) {
        discardBody(req);
        return sendText(ctx, 400, `Invalid URL: Invalid UTF-8 in \`${name}\``);
      }
      if (name === 'port' && parseU8(decoded) === null) {
        discardBody(req);
        // halpid 4.0.7 took any integer (and refused the rest in its own words).
        if (ctx.dialect === 4)
          return sendText(
            ctx,
            400,
            /^\s*[+-]?[0-9]+\s*$/.test(decoded) ? 'Port must be 0-3' : 'Port must be an integer',
          );
        return sendText(ctx, 400, `Invalid URL: Cannot parse \`${decoded}\` to a \`u8\``);
      }
      ctx.params[name] = name === 'port' ? String(parseU8(decoded)) : decoded;
    }
    await route.handle(ctx);
  }

  return {
    events,
    counters,
    close: () => events.close(),
    handle(req, res) {
      dispatch(req, res).catch((err: unknown) => {
        // Never crash on a request: an unexpected failure is a 500 with its message.
        // Stryker disable next-line all: debug output only
        debug('handler failed: %s', (err as Error)?.stack ?? err);
        if (!res.headersSent) {
          const ctx = { req, res, dialect: opts.dialect(), params: {}, query: new URLSearchParams() };
          sendError(ctx, 500, message(err));
        } else {
          res.destroy();
        }
      });
    },
  };
}

async function readValueKey(engine: Engine, key: string, version: string, dialect: Dialect) {
  switch (key) {
    case 'daemon_version':
      return version;
    case 'hardware_version':
      return engine.exclusive((d) => d.readHardwareVersion()).catch(() => STATUS_FALLBACK.hardwareVersion);
    case 'firmware_version':
      return engine.exclusive((d) => d.readFirmwareVersion()).catch(() => STATUS_FALLBACK.firmwareVersion);
    case 'device_id':
      return engine.exclusive((d) => d.readDeviceId()).catch(() => STATUS_FALLBACK.deviceId);
    case '5v_output_enabled':
      return engine.exclusive((d) => d.read5vOutput());
    case 'watchdog_timeout':
      return float((await engine.exclusive((d) => d.readWatchdogTimeoutMs())) / 1000);
    case 'watchdog_enabled':
      return (await engine.exclusive((d) => d.readWatchdogTimeoutMs())) > 0;
    case 'usb_port_state':
      return engine.readUsb().catch(() => 0);
    default: {
      if (!(MEASUREMENT_KEYS as readonly string[]).includes(key) && key !== 'V_supercap')
        throw new Error(`Unknown key: ${key}`);
      return measurementField(await engine.readMeasurements(), key, dialect);
    }
  }
}

/**
 * Dialect 4: what halpid 4.0.7 took. Any JSON number, and booleans too (Python's bool is a number);
 * auto_restart is true for any non-zero number; led_brightness is truncated (40.5 → 40).
 */
function configRaw4(key: ConfigKey, v: JsonValue): number | null {
  const num = v.t === 'int' ? Number(v.v) : v.t === 'float' ? v.v : v.t === 'bool' ? (v.v ? 1 : 0) : null;
  return num === null ? null : encodeConfig(key, num);
}

/** The register value for a PUT /config/{key} body (docs/api.md); null = wrong type. */
function configRaw(key: ConfigKey, v: JsonValue): number | null {
  switch (key) {
    // An unsigned integer literal, taken exactly (a bigint) before the modulo.
    case 'led_brightness':
      return v.t === 'int' && v.v >= 0n ? encodeBrightness(v.v) : null;
    case 'auto_restart':
      return v.t === 'bool' ? encodeConfig(key, v.v ? 1 : 0) : null;
    default: {
      const num = v.t === 'int' ? Number(v.v) : v.t === 'float' ? v.v : null;
      return num === null ? null : encodeConfig(key, num);
    }
  }
}
