// Client mode (docs/signalk.md): a running halpid over its Unix socket. Follows GET /events when
// the daemon has it; polls /values and /usb otherwise (halpid 5.0.2 and 4.0.7), and while the
// stream is down. Tolerant of both dialects. Never throws out of a socket callback.

import type { ClientRequest, IncomingMessage } from 'node:http';
import { socketRequest, TimeoutError, type Reply } from '../lib/socket-http.js';
import { socketStream } from '../lib/socket-stream.js';
import { readEvents } from '../lib/sse.js';
import { RealClock, type Clock, type TimerHandle } from '../engine/clock.js';
import type { ConfigKey } from '../engine/device.js';
import type { Model } from './paths.js';
import { ActionError, type Source, type SourceSink, type StandbyRequest } from './source.js';

export const REQUEST_TIMEOUT_MS = 5000;
/** Waits before reconnecting the event stream; the last repeats. */
export const RECONNECT_MS = [1000, 2000, 5000, 10_000, 30_000];
const CONFIG_EVERY_MS = 60_000;

export type { Reply };
export { TimeoutError };

/** One request to halpid: rejects on a connection error or after `timeoutMs` without an answer. */
export async function halpidRequest(
  socketPath: string,
  method: string,
  path: string,
  body?: string,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<Reply> {
  try {
    return await socketRequest(socketPath, method, path, {
      timeoutMs,
      ...(body === undefined ? {} : { body, headers: { 'Content-Type': 'application/json' } }),
    });
  } catch (err) {
    if (err instanceof TimeoutError)
      throw new TimeoutError(timeoutMs, `No answer from halpid within ${timeoutMs / 1000} s`);
    throw err;
  }
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** A /values object of either dialect → the model. */
export function modelFromValues(v: Json): Model {
  const m: Model = {
    V_in: num(v.V_in),
    V_cap: num(v.V_cap) ?? num(v.V_supercap),
    I_in: num(v.I_in),
    T_mcu: num(v.T_mcu),
    T_pcb: num(v.T_pcb),
    state: str(v.state),
    watchdog_elapsed: num(v.watchdog_elapsed),
    watchdog_timeout: num(v.watchdog_timeout),
    watchdog_enabled: bool(v.watchdog_enabled),
    '5v_output_enabled': bool(v['5v_output_enabled']),
    daemon_version: str(v.daemon_version),
    hardware_version: str(v.hardware_version),
    firmware_version: str(v.firmware_version),
    device_id: str(v.device_id),
  };
  const bits = num(v.usb_port_state);
  if (bits !== undefined) m.usb = usbFromBits(bits);
  return m;
}

const usbFromBits = (bits: number) => ({
  usb0: (bits & 1) !== 0,
  usb1: (bits & 2) !== 0,
  usb2: (bits & 4) !== 0,
  usb3: (bits & 8) !== 0,
});

export function usbFrom(v: unknown): Model['usb'] | undefined {
  if (!isObject(v)) return undefined;
  const ports = [v.usb0, v.usb1, v.usb2, v.usb3];
  if (!ports.every((p) => typeof p === 'boolean')) return undefined;
  return { usb0: ports[0] as boolean, usb1: ports[1] as boolean, usb2: ports[2] as boolean, usb3: ports[3] as boolean };
}

export function configFrom(v: unknown): Model['config'] | undefined {
  if (!isObject(v)) return undefined;
  const c = {
    watchdog_timeout: num(v.watchdog_timeout),
    power_on_threshold: num(v.power_on_threshold),
    solo_power_off_threshold: num(v.solo_power_off_threshold),
    led_brightness: num(v.led_brightness),
    auto_restart: bool(v.auto_restart),
    solo_depleting_timeout: num(v.solo_depleting_timeout),
  };
  return Object.values(c).every((x) => x !== undefined) ? (c as Model['config']) : undefined;
}

/** The message of an error answer: `{"error":…}` (dialect 5) or the text (dialect 4). */
const errorText = (r: Reply): string => {
  const j = parse(r.text);
  if (isObject(j) && typeof j.error === 'string') return j.error;
  return r.text.trim() || `halpid answered ${r.status}`;
};

const reasonOf = (err: unknown): string => {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no socket there (is halpid running?)';
  if (e.code === 'ECONNREFUSED') return 'connection refused (is halpid running?)';
  if (e.code === 'EACCES') return "permission denied (add the Signal K server's user to the socket's group)";
  return e.message;
};

export class ClientSource implements Source {
  readonly mode = 'client' as const;
  private readonly clock: Clock;
  private sink: SourceSink | null = null;
  private version = '';
  private stopped = false;
  private pollTimer: TimerHandle | null = null;
  private polling: Promise<void> | null = null;
  private configAt = -Infinity;
  /** The event stream in use, when there is one. */
  private stream: IncomingMessage | null = null;
  private streamReq: ClientRequest | null = null;
  private streamTimer: TimerHandle | null = null;
  private reconnects = 0;
  /** halpid answered 404 for /events: poll until it restarts. */
  private noEvents = false;
  private lostContact = false;
  private usbInValues = false;

  private readonly timeoutMs: number;

  constructor(
    private readonly socketPath: string,
    private readonly pollInterval: number,
    opts: { clock?: Clock; requestTimeoutMs?: number } = {},
  ) {
    this.clock = opts.clock ?? new RealClock();
    this.timeoutMs = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  }

  private request(method: string, path: string, body?: string): Promise<Reply> {
    return halpidRequest(this.socketPath, method, path, body, this.timeoutMs);
  }

  statusText(): string {
    return `Connected to halpid ${this.version} at ${this.socketPath}`;
  }

  connectedText(): string {
    return `Connected to halpid ${this.version}`;
  }

  staleText(reason: string): string {
    // halpid answering without values (its controller silent, e.g. a halted host) is not an unreachable halpid.
    if (this.valuesError !== null) return `halpid at ${this.socketPath} answers but has no values: ${this.valuesError}`;
    if (this.stream) return `halpid at ${this.socketPath} answers but sends no values (it cannot read the controller)`;
    return `halpid not reachable at ${this.socketPath}: ${reason}`;
  }

  /** halpid's error answer to the last GET /values, while it gives no values. */
  private valuesError: string | null = null;

  start(sink: SourceSink): void {
    this.sink = sink;
    this.openStream();
    this.schedulePoll(0);
  }

  // --- polling (the fallback, and while the stream is down) ----------------------------------

  private schedulePoll(delay: number): void {
    if (this.stopped) return;
    this.pollTimer = this.clock.setTimeout(() => {
      this.pollTimer = null;
      // A stream carries the values: no polls while it is open.
      if (this.stream) return this.schedulePoll(this.pollInterval);
      this.polling = this.poll().finally(() => {
        this.polling = null;
        this.schedulePoll(this.pollInterval);
      });
    }, delay);
  }

  private async poll(): Promise<void> {
    try {
      const [values, usb] = await Promise.all([
        this.request('GET', '/values'),
        this.usbInValues ? null : this.request('GET', '/usb').catch(() => null),
      ]);
      if (this.stopped) return;
      this.valuesError = values.status === 200 ? null : `GET /values answered ${values.status}: ${errorText(values)}`;
      if (this.valuesError !== null) throw new Error(this.valuesError);
      const v = parse(values.text);
      if (!isObject(v)) throw new Error('GET /values: not a JSON object');
      const m = modelFromValues(v);
      this.usbInValues = m.usb !== undefined; // dialect 4 has usb_port_state: no /usb needed
      if (!m.usb && usb?.status === 200) m.usb = usbFrom(parse(usb.text));
      if (m.daemon_version) this.version = m.daemon_version;
      if (this.clock.now() - this.configAt >= CONFIG_EVERY_MS) await this.readConfig(m);
      if (this.stopped) return;
      this.sink?.snapshot(m);
      if (this.lostContact) {
        // A restarted halpid may be a newer one, with /events.
        this.lostContact = false;
        this.noEvents = false;
        if (!this.stream && !this.streamReq && !this.streamTimer) this.openStream();
      }
    } catch (err) {
      this.lostContact = true;
      if (!(err instanceof Error && err.message === this.valuesError)) this.valuesError = null;
      if (!this.stopped) this.sink?.failure(reasonOf(err));
    }
  }

  private async readConfig(into: Model): Promise<void> {
    const r = await this.request('GET', '/config').catch(() => null);
    const c = r?.status === 200 ? configFrom(parse(r.text)) : undefined;
    if (c) {
      into.config = c;
      this.configAt = this.clock.now();
    }
  }

  // --- the event stream ---------------------------------------------------------------------

  private openStream(): void {
    if (this.stopped || this.noEvents) return;
    const req = socketStream(this.socketPath, `/events?interval=${this.pollInterval}`);
    req.on('error', (err) => this.streamClosed(reasonOf(err)));
    req.on('response', (res) => {
      if (res.statusCode === 404) {
        res.resume();
        this.noEvents = true; // halpid 5.0.2 / 4.0.7: poll
        this.streamReq = null;
        return;
      }
      if (res.statusCode !== 200) {
        res.resume();
        return this.streamClosed(`GET /events answered ${res.statusCode}`);
      }
      this.stream = res;
      this.reconnects = 0;
      void this.onStreamOpen();
      readEvents(res, (event, data) => this.onEvent(event, data));
      res.on('close', () => this.streamClosed('the event stream closed'));
      res.on('error', () => {});
    });
  }

  /** The stream is open: read the configuration (and the USB state when the stream has not said it). */
  private async onStreamOpen(): Promise<void> {
    const m: Model = {};
    await this.readConfig(m);
    if (!this.stopped && m.config) this.sink?.change(m);
  }

  /** The `values` event waiting for the `supply` event that follows it. */
  private pendingValues: Model | null = null;

  private readonly flushValues = (): void => {
    const m = this.pendingValues;
    if (!m) return;
    this.pendingValues = null;
    if (!this.stopped) this.sink?.snapshot(m);
  };

  private onEvent(event: string, data: string): void {
    const d = parse(data);
    if (!isObject(d) || this.stopped) return;
    const sink = this.sink!;
    // Events keep their order: values held for their supply go out before anything else.
    if (event !== 'supply') this.flushValues();
    switch (event) {
      case 'hello':
        if (typeof d.daemon_version === 'string') this.version = d.daemon_version;
        if (typeof d.daemon_state === 'string') sink.change({ daemon_state: d.daemon_state });
        return;
      case 'values': {
        this.valuesError = null;
        const m = modelFromValues(d);
        if (m.daemon_version) this.version = m.daemon_version;
        // halpid sends `supply` right behind `values`: held until then (or until this chunk of the
        // stream is read), both go to the server as one delta.
        this.pendingValues = m;
        queueMicrotask(this.flushValues);
        return;
      }
      case 'supply': {
        const n = (v: unknown): number | null => (typeof v === 'number' ? v : null);
        const supply = {
          charge: n(d.charge),
          runtime: n(d.runtime),
          shutdown_in: n(d.shutdown_in),
          shutting_down: d.shutting_down === true,
          power: n(d.power),
          current: n(d.current),
        };
        const m = this.pendingValues;
        if (m) {
          m.supply = supply;
          this.flushValues();
        } else sink.supply(supply);
        return;
      }
      case 'usb': {
        const usb = usbFrom(d);
        if (usb) sink.change({ usb });
        return;
      }
      case 'state':
        sink.change({ daemon_state: str(d.daemon_state), state: str(d.controller_state) });
        return;
      case 'config': {
        const config = configFrom(d);
        if (config) sink.change({ config });
        return;
      }
      case 'blackout':
        if (d.phase === 'start') sink.blackout({ phase: 'start', time_limit: num(d.time_limit) });
        else if (d.phase === 'end' || d.phase === 'shutdown') sink.blackout({ phase: d.phase });
        return;
      case 'error':
        if (typeof d.message === 'string') sink.failure(d.message);
        return;
      case 'controller':
        if (typeof d.reachable === 'boolean') {
          sink.controller({
            reachable: d.reachable,
            powerCycleAt: typeof d.power_cycle_at === 'number' ? d.power_cycle_at : null,
            ...(typeof d.error === 'string' ? { error: d.error } : {}),
          });
        }
        return;
    }
  }

  private streamClosed(reason: string): void {
    if (this.stream === null && this.streamReq === null) return;
    this.stream = null;
    this.streamReq = null;
    if (this.stopped) return;
    this.sink?.failure(reason);
    const wait = RECONNECT_MS[Math.min(this.reconnects, RECONNECT_MS.length - 1)]!;
    this.reconnects++;
    this.streamTimer = this.clock.setTimeout(() => {
      this.streamTimer = null;
      this.openStream();
    }, wait);
  }

  // --- lifecycle ----------------------------------------------------------------------------

  async refresh(): Promise<void> {
    this.configAt = -Infinity;
    if (this.stream) {
      const m: Model = {};
      await this.readConfig(m);
      const usb = await this.request('GET', '/usb').catch(() => null);
      if (usb?.status === 200) m.usb = usbFrom(parse(usb.text));
      if (!this.stopped) this.sink?.change(m);
      return;
    }
    await this.polling;
    await this.poll();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.pollTimer) this.clock.clearTimeout(this.pollTimer);
    if (this.streamTimer) this.clock.clearTimeout(this.streamTimer);
    this.streamReq?.destroy();
    this.stream?.destroy();
    this.stream = null;
    this.streamReq = null;
    await this.polling;
  }

  // --- writes -------------------------------------------------------------------------------

  private async write(method: string, path: string, body?: string): Promise<void> {
    let r: Reply;
    try {
      r = await this.request(method, path, body);
    } catch (err) {
      if (err instanceof TimeoutError) throw new ActionError(504, err.message);
      throw new ActionError(503, this.staleText(reasonOf(err)));
    }
    if (r.status >= 200 && r.status < 300) return;
    throw new ActionError(502, errorText(r));
  }

  setUsb(port: number, on: boolean): Promise<void> {
    return this.write('PUT', `/usb/${port}`, on ? 'true' : 'false');
  }

  setConfig(key: ConfigKey, value: number | boolean): Promise<void> {
    return this.write('PUT', `/config/${key}`, JSON.stringify(value));
  }

  shutdown(): Promise<void> {
    return this.write('POST', '/shutdown');
  }

  standby(request: StandbyRequest): Promise<void> {
    return this.write('POST', '/standby', JSON.stringify(request));
  }
}
