// The panel as a Signal K webapp: reads electrical.halpi.* and its notifications over the
// server's REST and WebSocket APIs, writes through the plugin's PUT handlers, so a readwrite user
// needs no admin rights. The prefix can be changed with ?prefix=… (plugin settings are admin-only).

import { SignalKFeed } from './signalk-feed.js';
import { WriteError, type Access, type ControllerConfig, type PanelData, type Source, type Status } from './model.js';

const API = '/signalk/v1/api/vessels/self/';
const LOGIN = '/admin/#/login?redirect=/signalk-halpi2/';

const CONFIG_PATHS: Record<keyof ControllerConfig, string> = {
  watchdog_timeout: 'watchdog.timeout',
  power_on_threshold: 'config.powerOnThreshold',
  solo_power_off_threshold: 'config.soloPowerOffThreshold',
  led_brightness: 'config.ledBrightness',
  auto_restart: 'config.autoRestart',
  solo_depleting_timeout: 'config.soloDepletingTimeout',
};

type Leaf = { value?: unknown; meta?: Record<string, unknown> };

export class SignalKSource implements Source {
  readonly name = 'signalk' as const;
  private readonly prefix: string;
  /** What the values mean is decided in signalk-feed.ts; here they are fetched and streamed. */
  private readonly feed: SignalKFeed;
  private update: (patch: Partial<PanelData>) => void = () => {};

  constructor(prefix = new URLSearchParams(location.search).get('prefix') ?? 'electrical.halpi') {
    this.prefix = prefix;
    this.feed = new SignalKFeed(prefix, () => Date.now());
  }

  async access(): Promise<Access> {
    return { write: this.feed.canWrite, login: LOGIN };
  }

  connect(update: (patch: Partial<PanelData>) => void, status: (s: Status) => void): void {
    this.update = update;
    void this.load();
    this.openStream(status, 0);
  }

  /** The initial state over REST: every leaf under the prefix, and its notifications. */
  private async load(): Promise<void> {
    const walk = (node: unknown, path: string, into: (path: string, leaf: Leaf) => void): void => {
      if (!node || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      if ('value' in n || 'meta' in n) into(path, n as Leaf);
      for (const [k, v] of Object.entries(n))
        if (k !== 'meta' && k !== 'value' && k !== '$source' && k !== 'timestamp' && k !== 'values')
          walk(v, `${path}.${k}`, into);
    };
    const slash = this.prefix.replace(/\./g, '/');
    for (const [url, base] of [
      [`${API}${slash}`, this.prefix],
      [`${API}notifications/${slash}`, `notifications.${this.prefix}`],
    ] as const) {
      try {
        const r = await fetch(url, { credentials: 'include' });
        if (!r.ok) continue;
        walk(await r.json(), base, (path, leaf) => {
          if ('value' in leaf) this.set(path, leaf.value);
          if (leaf.meta) this.meta(path, leaf.meta);
        });
      } catch {
        // the stream fills in
      }
    }
    // The commands have no value, so the tree above omits them: their metadata says whether the
    // plugin takes them (control.power).
    for (const leaf of ['commands.shutdown', 'commands.standby']) {
      try {
        const r = await fetch(`${API}${slash}/${leaf.replace('.', '/')}/meta`, { credentials: 'include' });
        if (r.ok) this.meta(`${this.prefix}.${leaf}`, (await r.json()) as Record<string, unknown>);
      } catch {
        // not offered
      }
    }
    this.publish();
  }

  private openStream(status: (s: Status) => void, attempt: number): void {
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${proto}://${location.host}/signalk/v1/stream?subscribe=none&sendMeta=all`);
    ws.onopen = () => {
      attempt = 0;
      ws.send(
        JSON.stringify({
          context: 'vessels.self',
          // The counts to the shutdown as they are read: the 1 s period would hold them back up to a second.
          subscribe: [
            { path: `${this.prefix}.*`, period: 1000 },
            { path: `notifications.${this.prefix}.*`, period: 1000 },
            { path: `${this.prefix}.blackout.timeToShutdown`, policy: 'instant' },
            { path: `${this.prefix}.supercap.timeRemaining`, policy: 'instant' },
          ],
        }),
      );
      status({ connected: true, message: 'Connected to Signal K' });
    };
    ws.onmessage = (ev) => {
      let d: {
        updates?: Array<{
          values?: Array<{ path: string; value: unknown }>;
          meta?: Array<{ path: string; value: Record<string, unknown> }>;
        }>;
      };
      try {
        d = JSON.parse(ev.data as string);
      } catch {
        return;
      }
      for (const u of d.updates ?? []) {
        for (const m of u.meta ?? []) this.meta(m.path, m.value);
        for (const v of u.values ?? []) this.set(v.path, v.value);
      }
      this.publish();
    };
    ws.onclose = () => {
      status({ connected: false, message: 'Lost the connection to Signal K; reconnecting…' });
      const wait = [1000, 2000, 5000, 10_000][Math.min(attempt, 3)];
      setTimeout(() => this.openStream(status, attempt + 1), wait);
    };
  }

  private meta(path: string, meta: Record<string, unknown>): void {
    const patch = this.feed.meta(path, meta);
    if (patch) this.update(patch);
  }

  private set(path: string, value: unknown): void {
    this.feed.set(path, value);
  }

  private publish(): void {
    this.update(this.feed.patch());
  }

  /** Whether the server takes PUT on this leaf (its meta says supportsPut). */
  canPut(leaf: string): boolean {
    return this.feed.canPut(leaf);
  }

  private async put(leaf: string, value: unknown): Promise<void> {
    const r = await fetch(`${API}${this.prefix.replace(/\./g, '/')}/${leaf.replace(/\./g, '/')}`, {
      method: 'PUT',
      credentials: 'include',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ value }),
    });
    if (r.ok) return;
    let message = `${r.status} ${r.statusText}`;
    try {
      const j = (await r.json()) as { message?: string };
      if (j.message) message = j.message;
    } catch {
      // no body
    }
    throw new WriteError(r.status === 401 || r.status === 403 ? 'Log in to change settings' : message, r.status);
  }

  setUsb(port: number, on: boolean): Promise<void> {
    return this.put(`usb.port${port}`, on);
  }

  setConfig(key: keyof ControllerConfig, value: number | boolean): Promise<void> {
    return this.put(CONFIG_PATHS[key], key === 'led_brightness' && typeof value === 'number' ? value / 255 : value);
  }

  async readConfig(key: keyof ControllerConfig): Promise<number | boolean | null> {
    const r = await fetch(`${API}${this.prefix.replace(/\./g, '/')}/${CONFIG_PATHS[key].replace(/\./g, '/')}/value`, {
      credentials: 'include',
    });
    if (!r.ok) return null;
    const v = (await r.json()) as unknown;
    if (key === 'led_brightness' && typeof v === 'number') return Math.round(v * 255);
    return typeof v === 'number' || typeof v === 'boolean' ? v : null;
  }

  shutdown(): Promise<void> {
    return this.put('commands.shutdown', { confirm: 'shutdown' });
  }

  standby(delaySeconds: number): Promise<void> {
    return this.put('commands.standby', { confirm: 'standby', delay: delaySeconds });
  }

  private async simPost(method: string, path: string, body?: unknown): Promise<void> {
    const r = await fetch(`/plugins/signalk-halpi2/sim/${path}`, {
      method,
      credentials: 'include',
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!r.ok)
      throw new WriteError(
        r.status === 401 || r.status === 403
          ? 'The simulator controls need an administrator'
          : `${r.status} ${r.statusText}`,
        r.status,
      );
  }

  readonly sim = {
    power: (on: boolean) => this.simPost('POST', 'power', { on }),
    inputVoltage: (volts: number) => this.simPost('PUT', 'inputs', { V_in: volts }),
    fault: (kind: 'nack' | 'timeout' | 'corrupt') =>
      this.simPost('POST', 'faults', { kind, count: 0, probability: 0.5 }),
    clearFaults: () => this.simPost('DELETE', 'faults'),
  };
}
