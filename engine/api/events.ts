// GET /events: Server-Sent Events for the panel, the plugin in client mode and the CLI's flash
// progress (docs/api.md). Streams add no bus traffic per client: values come from the
// engine's own polls, at the shortest interval any stream asked for.

import createDebug from 'debug';
import type { Engine } from '../engine.js';
import { usbObject, valuesSnapshot } from '../engine.js';
import type { EngineEvents } from '../events.js';
import { supplyNow } from '../supply.js';
import { SUPERCAP_CUTOFF_V } from '../supervisor.js';
import { sendJson, type Ctx } from './http.js';
import { float, stringify, type Dialect, type Out } from './json-write.js';
import { configObject, valuesObject } from './values.js';

const debug = createDebug('halpid:events');
/** Streams per listener (each createApi has its own budget, so one listener cannot starve another). */
export const MAX_STREAMS = 16;
const KEEPALIVE_MS = 15_000;
/** A stream whose client does not read is dropped once this much output waits for it. */
export const MAX_PENDING_BYTES = 64 * 1024;

/** One listener's share of the streams. */
export interface StreamBudget {
  max: number;
  open: number;
}

interface Stream {
  ctx: Ctx;
  id: number;
  ready: boolean;
  lastValuesWall: number;
  close(): void;
}

export class EventHub {
  private streams = new Set<Stream>();
  private unsubscribe: Array<() => void> = [];
  /** The controller's solo power-off threshold: where the supercap's charge is 0 %. */
  private cutoff = SUPERCAP_CUTOFF_V;

  constructor(
    private readonly engine: Engine,
    private readonly version: string,
    private readonly dialect: () => Dialect,
  ) {}

  get size(): number {
    return this.streams.size;
  }

  serve(ctx: Ctx, budget: StreamBudget = { max: MAX_STREAMS, open: this.streams.size }): void {
    const d5 = { ...ctx, dialect: 5 as const };
    ctx.req.resume();
    const raw = ctx.query.get('interval');
    const interval = raw === null ? 1000 : /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
    if (!(interval >= 100 && interval <= 60_000)) {
      return sendJson(d5, 400, { error: 'Invalid interval: must be an integer between 100 and 60000' });
    }
    if (budget.open >= budget.max) return sendJson(d5, 503, { error: 'Too many event stream clients' });
    const headers = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' };
    if (ctx.req.method === 'HEAD') {
      ctx.res.writeHead(200, headers);
      ctx.res.end();
      return;
    }
    ctx.res.writeHead(200, headers);
    ctx.res.flushHeaders();
    this.open(ctx, interval, budget);
  }

  private open(ctx: Ctx, interval: number, budget: StreamBudget): void {
    const { engine } = this;
    const clock = engine.clock;
    const release = engine.demand(interval);
    let valuesTimer = clock.setTimeout(() => tickValues(), interval);
    let keepalive = clock.setTimeout(() => ping(), KEEPALIVE_MS);
    const stream: Stream = {
      ctx,
      id: 0,
      ready: false,
      lastValuesWall: engine.lastMeasurements?.wall ?? 0,
      close: () => {
        if (!this.streams.delete(stream)) return;
        budget.open--;
        release();
        clock.clearTimeout(valuesTimer);
        clock.clearTimeout(keepalive);
        if (this.streams.size === 0) this.detach();
        ctx.res.end();
        debug('stream closed (%d open)', this.streams.size);
      },
    };
    const tickValues = (): void => {
      const latest = engine.lastMeasurements;
      if (stream.ready && latest && latest.wall > stream.lastValuesWall) {
        stream.lastValuesWall = latest.wall;
        // One write for both: a client reads them together (the plugin sends them as one delta).
        ctx.res.cork();
        this.send(stream, 'values', this.valuesData(latest.values));
        this.send(stream, 'supply', this.supplyData());
        ctx.res.uncork();
        void engine.refreshStatus().catch(() => {});
      }
      valuesTimer = clock.setTimeout(() => tickValues(), interval);
    };
    const ping = (): void => {
      if (ctx.res.writableLength > MAX_PENDING_BYTES) return void ctx.res.destroy();
      ctx.res.write(': keepalive\n\n');
      keepalive = clock.setTimeout(() => ping(), KEEPALIVE_MS);
    };
    if (this.streams.size === 0) this.attach();
    this.streams.add(stream);
    budget.open++;
    ctx.res.on('close', () => stream.close()); // (the request's 'close' fires as soon as its body is read)
    ctx.res.on('error', () => stream.close());
    debug('stream opened, interval %d ms (%d open)', interval, this.streams.size);
    // The limits (and a blackout in progress) let a panel draw thresholds and count down at once.
    const elapsed = engine.supervisor.blackoutElapsedS;
    this.send(stream, 'hello', {
      api: String(this.dialect()),
      backend: engine.backend,
      daemon_state: engine.state,
      daemon_version: this.version,
      blackout_time_limit: float(engine.settings.blackoutTimeLimitS),
      blackout_voltage_limit: float(engine.settings.blackoutVoltageLimitV),
      ...(elapsed !== null && engine.state === 'BLACKOUT' ? { blackout_elapsed: float(elapsed) } : {}),
    });
    // The supercap's charge and, in a blackout, the seconds to the shutdown: at once, not a tick later.
    this.send(stream, 'supply', this.supplyData());
    // A client that connects while the controller is silent hears it at once.
    const down = engine.reachability.current;
    if (down) this.send(stream, 'controller', { ...down } as Out);
    engine
      .refreshStatus(0)
      .catch(() => {})
      .finally(() => {
        if (!this.streams.has(stream)) return;
        const bits = engine.lastUsb;
        if (bits !== null) this.send(stream, 'usb', { ...usbObject(bits) });
        stream.ready = true;
      });
  }

  /** The dialect-5 /values object from the latest poll and the cached status registers. */
  private valuesData(m: NonNullable<Engine['lastMeasurements']>['values']): Out {
    return valuesObject(valuesSnapshot(m, this.engine.status), this.version, 5);
  }

  /** The `supply` event: numbers rounded as a panel shows them (0.1 s, 0.1 %, mW). */
  private supplyData(): Out {
    const s = supplyNow(this.engine, this.cutoff);
    const r = (v: number | null, digits: number): Out => (v === null ? null : float(Number(v.toFixed(digits))));
    return {
      charge: r(s.charge, 1),
      runtime: r(s.runtime, 1),
      shutdown_in: r(s.shutdown_in, 1),
      shutting_down: s.shutting_down,
      power: r(s.power, 3),
      current: r(s.current, 3),
    };
  }

  private send(stream: Stream, event: string, data: Out): void {
    // A client that does not read would otherwise have the daemon buffer its events without end.
    if (stream.ctx.res.writableLength > MAX_PENDING_BYTES) {
      debug('stream dropped: %d bytes unread', stream.ctx.res.writableLength);
      stream.close();
      stream.ctx.res.destroy();
      return;
    }
    stream.id++;
    stream.ctx.res.write(`id: ${stream.id}\nevent: ${event}\ndata: ${stringify(data, 5)}\n\n`);
  }

  private broadcast(event: string, data: Out): void {
    for (const s of this.streams) if (s.ready || event !== 'usb') this.send(s, event, data);
  }

  private attach(): void {
    const e = this.engine;
    const forward = <K extends keyof EngineEvents & string>(name: K, map: (...a: EngineEvents[K]) => Out) =>
      this.unsubscribe.push(e.on(name, (...a) => this.broadcast(name, map(...a))));
    forward('state', (s) => ({ ...s }));
    forward('blackout', (b): Out => {
      if (b.phase === 'start')
        return {
          V_in: float(b.V_in),
          phase: b.phase,
          time_limit: float(b.time_limit),
          voltage_limit: float(b.voltage_limit),
        };
      return { duration: float(b.duration), phase: b.phase };
    });
    forward('shutdown', (s) => ({ ...s }));
    forward('usb', (u) => ({ ...u }));
    forward('config', (c) => configObject(c));
    this.unsubscribe.push(
      e.on('config', (c) => {
        this.cutoff = c.solo_power_off_threshold;
      }),
    );
    e.readConfigKey('solo_power_off_threshold').then(
      (v) => {
        this.cutoff = v;
      },
      () => {},
    );
    forward('flash', (f) => ({ ...f }) as Out);
    forward('error', (m) => ({ ...m }));
    forward('controller', (c) => ({ ...c }) as Out);
  }

  private detach(): void {
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
  }

  close(): void {
    for (const s of [...this.streams]) s.close();
  }
}
