// The panel on halpid's web listener: the API under api/, live data from api/events (SSE), and
// GET access for what this browser may do. A web token, once given (typed in, or in the URL halpid
// prints: http://127.0.0.1:8080/#token=…), lives in session storage.

import { HalpidFeed, usbOf, type Json, type Step } from './halpid-feed.js';
import {
  WriteError,
  type Access,
  type ControllerConfig,
  type PanelData,
  type Source,
  type Status,
  type UsbPorts,
} from './model.js';

const TOKEN_KEY = 'halpid-web-token';

export class HalpidSource implements Source {
  readonly name = 'halpid' as const;
  private token = sessionStorage.getItem(TOKEN_KEY) ?? '';

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
    // What the events mean is decided in halpid-feed.ts; here they only come and go.
    const feed = new HalpidFeed(() => Date.now());
    const apply = (step: Step | null) => {
      if (!step) return;
      update(step.patch);
      if (step.status) status(step.status);
    };
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
    on('hello', (d) => apply(feed.hello(d)));
    on('values', (d) => {
      const step = feed.values(d);
      apply(step);
      if (step.reread) {
        // Values came, so the controller answers: what it holds now.
        void this.readUsb().then((usb) => {
          if (usb && !feed.rereadPending) update({ usb });
        });
        void fetch(`${this.base}config`)
          .then(async (r) => {
            if (r.ok && !feed.rereadPending) update({ config: (await r.json()) as ControllerConfig });
          })
          .catch(() => {});
      }
    });
    on('supply', (d) => update(feed.supply(d)));
    on('usb', (d) => update({ usb: usbOf(d) }));
    on('state', (d) => update(feed.state(d)));
    on('blackout', (d) => update(feed.blackout(d)));
    on('config', (d) => update({ config: d as unknown as ControllerConfig }));
    on('controller', (d) => update(feed.controller(d)));
    es.addEventListener('error', (ev) => {
      if (ev instanceof MessageEvent) return; // halpid's own error events (failed ticks)
      status(feed.lost());
    });
    setInterval(() => apply(feed.tick()), 1000);
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
