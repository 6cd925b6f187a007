// The panel on halpid's web listener: the API under api/, live data from api/events (SSE), and
// GET access for what this browser may do. A web token, once given (typed in, or in the URL halpid
// prints: http://127.0.0.1:8080/#token=…), lives in session storage.

import {
  steadyDeadline,
  WriteError,
  type Access,
  type ControllerConfig,
  type PanelData,
  type Source,
  type Status,
  type UsbPorts,
} from './model.js';

const TOKEN_KEY = 'halpid-web-token';
const STALE_MS = 5000;

type Json = Record<string, unknown>;
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const bool = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null);

function fromValues(v: Json): Partial<PanelData> {
  return {
    V_in: num(v.V_in),
    V_cap: num(v.V_cap ?? v.V_supercap),
    I_in: num(v.I_in),
    T_mcu: num(v.T_mcu),
    T_pcb: num(v.T_pcb),
    state: str(v.state),
    watchdogTimeout: num(v.watchdog_timeout),
    watchdogEnabled: bool(v.watchdog_enabled),
    watchdogElapsed: num(v.watchdog_elapsed),
    output5v: bool(v['5v_output_enabled']),
    daemonVersion: str(v.daemon_version),
    hardwareVersion: str(v.hardware_version),
    firmwareVersion: str(v.firmware_version),
    deviceId: str(v.device_id),
  };
}

const usbOf = (u: Json): UsbPorts => [u.usb0 === true, u.usb1 === true, u.usb2 === true, u.usb3 === true];

export class HalpidSource implements Source {
  readonly name = 'halpid' as const;
  private token = sessionStorage.getItem(TOKEN_KEY) ?? '';
  private timeLimit = 5;

  constructor(private readonly base = 'api/') {
    // The token from the URL's fragment (never sent to a server), then out of the address bar.
    const fromUrl = new URLSearchParams(location.hash.slice(1)).get('token');
    if (fromUrl) {
      this.setToken(fromUrl);
      history.replaceState(null, '', location.pathname + location.search);
    }
  }

  setToken(token: string): void {
    this.token = token;
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  }

  private headers(json: boolean): HeadersInit {
    // X-Halpi-Request: a request no other origin can send without a preflight (docs/api.md).
    const h: Record<string, string> = { 'X-Halpi-Request': '1' };
    if (json) h['Content-Type'] = 'application/json';
    if (this.token) h.Authorization = `Bearer ${this.token}`;
    return h;
  }

  async access(): Promise<Access> {
    const r = await fetch('access', { headers: this.headers(false) });
    if (!r.ok) return { write: false };
    return (await r.json()) as Access;
  }

  connect(update: (patch: Partial<PanelData>) => void, status: (s: Status) => void): void {
    // From the start: a panel opened while the controller is silent says so after STALE_MS too.
    let lastValues = Date.now();
    /** Values stopped coming (the controller was silent): what was cleared must be read again when they return. */
    let stale = false;
    /**
     * The settings and USB ports must be read (again) with the next values: at first, and after the
     * controller was silent — while it is, GET /config answers its fallback zeros (docs/api.md), and
     * the USB ports come only on change.
     */
    let reread = true;
    let connectedText = 'Connected to halpid';
    let deadline: number | null = null;
    const setDeadline = (next: number | null) => (deadline = steadyDeadline(deadline, next));
    const es = new EventSource(`${this.base}events?interval=1000`);
    const on = (name: string, fn: (d: Json) => void) =>
      es.addEventListener(name, (ev) => {
        if (!(ev instanceof MessageEvent)) return; // the connection's own error event
        try {
          fn(JSON.parse(ev.data as string) as Json);
        } catch {
          // a malformed event is skipped
        }
      });
    on('hello', (d) => {
      this.timeLimit = num(d.blackout_time_limit) ?? this.timeLimit;
      const elapsed = num(d.blackout_elapsed);
      update({
        daemonState: str(d.daemon_state),
        daemonVersion: str(d.daemon_version),
        simulator: d.backend === 'simulator',
        voltageLimit: num(d.blackout_voltage_limit),
        shutdownAt: setDeadline(elapsed === null ? null : Date.now() + (this.timeLimit - elapsed) * 1000),
      });
      connectedText = `Connected to halpid ${str(d.daemon_version) ?? ''}`.trim();
      status({ connected: true, message: connectedText });
    });
    on('values', (d) => {
      lastValues = Date.now();
      update(fromValues(d));
      if (stale) {
        stale = false;
        status({ connected: true, message: connectedText });
      }
      if (reread) {
        // Values came, so the controller answers: what it holds now.
        reread = false;
        void this.readUsb().then((usb) => {
          if (usb && !reread) update({ usb });
        });
        void fetch(`${this.base}config`)
          .then(async (r) => {
            if (r.ok && !reread) update({ config: (await r.json()) as ControllerConfig });
          })
          .catch(() => {});
      }
    });
    on('supply', (d) => {
      const left = num(d.shutdown_in);
      update({
        supply: { charge: num(d.charge), runtime: num(d.runtime), power: num(d.power), current: num(d.current) },
        ...(typeof d.shutting_down === 'boolean' ? { shuttingDown: d.shutting_down } : {}),
        // The deadline from the daemon's own count, every second: the timer between is local.
        shutdownAt: setDeadline(left === null ? null : Date.now() + left * 1000),
      });
    });
    on('usb', (d) => update({ usb: usbOf(d) }));
    on('state', (d) => {
      const daemon = str(d.daemon_state);
      update({
        daemonState: daemon,
        state: str(d.controller_state),
        ...(daemon === 'OK' ? { shuttingDown: false } : {}),
      });
    });
    on('blackout', (d) => {
      if (d.phase === 'start')
        update({
          shutdownAt: setDeadline(Date.now() + (num(d.time_limit) ?? this.timeLimit) * 1000),
          shuttingDown: false,
        });
      else update({ shutdownAt: setDeadline(null), shuttingDown: d.phase === 'shutdown' });
    });
    on('config', (d) => update({ config: d as unknown as ControllerConfig }));
    on('controller', (d) => {
      if (d.reachable === false) reread = true;
      update({
        controllerDown: d.reachable === false ? { powerCycleAt: num(d.power_cycle_at), error: str(d.error) } : null,
      });
    });
    es.addEventListener('error', (ev) => {
      if (ev instanceof MessageEvent) return; // halpid's own error events (failed ticks)
      status({ connected: false, message: 'Lost the connection to halpid; reconnecting…' });
    });
    // The controller can stop answering while the stream stays open: values stop coming.
    setInterval(() => {
      if (lastValues && Date.now() - lastValues > STALE_MS) {
        lastValues = 0;
        stale = true;
        reread = true;
        update({
          V_in: null,
          V_cap: null,
          I_in: null,
          T_mcu: null,
          T_pcb: null,
          state: null,
          usb: null,
          supply: null,
          shutdownAt: setDeadline(null),
        });
        status({ connected: false, message: 'No values from the controller' });
      }
    }, 1000);
  }

  private async send(method: string, path: string, body?: unknown): Promise<void> {
    const r = await fetch(this.base + path, {
      method,
      headers: this.headers(body !== undefined),
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    if (r.ok) return;
    const text = await r.text();
    let message = text.trim() || `${r.status} ${r.statusText}`;
    try {
      const j = JSON.parse(text) as { error?: string };
      if (typeof j.error === 'string') message = j.error;
    } catch {
      // plain text
    }
    throw new WriteError(message, r.status);
  }

  setUsb(port: number, on: boolean): Promise<void> {
    return this.send('PUT', `usb/${port}`, on);
  }

  private async readUsb(): Promise<UsbPorts | null> {
    try {
      const r = await fetch(`${this.base}usb`);
      return r.ok ? usbOf((await r.json()) as Json) : null;
    } catch {
      return null;
    }
  }

  setConfig(key: keyof ControllerConfig, value: number | boolean): Promise<void> {
    return this.send('PUT', `config/${key}`, JSON.stringify(value));
  }

  async readConfig(key: keyof ControllerConfig): Promise<number | boolean | null> {
    const r = await fetch(`${this.base}config/${key}`);
    if (!r.ok) return null;
    const v = (await r.json()) as unknown;
    return typeof v === 'number' || typeof v === 'boolean' ? v : null;
  }

  shutdown(): Promise<void> {
    return this.send('POST', 'shutdown');
  }

  standby(delaySeconds: number): Promise<void> {
    return this.send('POST', 'standby', { delay: delaySeconds });
  }

  readonly sim = {
    power: (on: boolean) => this.send('POST', 'sim/power', { on }),
    inputVoltage: (volts: number) => this.send('PUT', 'sim/inputs', { V_in: volts }),
    fault: (kind: 'nack' | 'timeout' | 'corrupt') =>
      this.send('POST', 'sim/faults', { kind, count: 0, probability: 0.5 }),
    clearFaults: () => this.send('DELETE', 'sim/faults'),
  };
}
