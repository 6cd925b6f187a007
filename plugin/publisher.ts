// Turns what a Source reports into Signal K deltas (docs/signalk.md): one delta per snapshot,
// discrete paths on change and every 60 s, identity on change and after a reconnection, the
// three notifications, null for everything when the data goes stale or the plugin stops.

import type { Clock, TimerHandle } from '../engine/clock.js';
import {
  blackoutNotification,
  connectionNotification,
  sameNotification,
  shutdownNotification,
  STOPPED,
  type Notification,
} from './notifications.js';
import type { PluginOptions } from './options.js';
import { staleTimeoutMs } from './options.js';
import {
  DEFAULT_ZONE_INPUTS,
  fullPaths,
  metaFor,
  PATHS,
  nullsOf,
  valuesOf,
  type Group,
  type Model,
  type SupplyModel,
  type ZoneInputs,
} from './paths.js';
import type { BlackoutNote, ControllerNote, Source, SourceSink } from './source.js';

export const DISCRETE_RESEND_MS = 60_000;
const MEASUREMENT: readonly Group[] = ['measurement'];
const DISCRETE: readonly Group[] = ['discrete'];
const IDENTITY: readonly Group[] = ['identity'];
const DISCRETE_AND_IDENTITY: readonly Group[] = ['discrete', 'identity'];
const COUNTDOWN_REFRESH_MS = 1000;

export interface PathValue {
  path: string;
  value: unknown;
}

export interface Delta {
  updates: Array<{ values?: PathValue[]; meta?: PathValue[] }>;
}

/** The part of the server the publisher uses. */
export interface Output {
  handleMessage(delta: Delta): void;
  setStatus(text: string): void;
  setError(text: string): void;
  /** Server 2.30+: metadata that keeps what the user edited in the Data Browser. */
  setDefaultMetadata?(path: string, value: Record<string, unknown>): Promise<unknown>;
}

type NotificationName = 'blackout' | 'shutdown' | 'connection';

export class Publisher implements SourceSink {
  private model: Model = {};
  /** What was last published per path (discrete and identity), to send only changes. */
  private sent = new Map<string, unknown>();
  private lastDiscreteResend = -Infinity;
  private lastFresh: number;
  private staleTimer: TimerHandle | null = null;
  private stale: string | null = null;
  private lastFailure = 'no data yet';
  private notified = new Map<NotificationName, { n: Notification; at: number }>();
  private blackoutStartedAt: number | null = null;
  private blackoutLimitS: number | undefined;
  private shutdownAfterBlackout = false;
  private poweroffFailure: string | undefined;
  /** The controller's last word on its bus, while it does not answer. */
  private controllerDown: ControllerNote | null = null;
  private zoneInputs: ZoneInputs;
  private stopped = false;
  /** A snapshot has arrived since the start or since the data went stale. */
  private connected = false;

  constructor(
    private readonly out: Output,
    private readonly options: PluginOptions,
    private readonly clock: Clock,
    private readonly source: Pick<Source, 'mode' | 'statusText' | 'connectedText' | 'staleText'>,
  ) {
    this.lastFresh = clock.now();
    this.zoneInputs = { ...DEFAULT_ZONE_INPUTS, blackoutVoltageLimit: options.engine.blackoutVoltageLimit };
    this.model.mode = source.mode;
  }

  private get prefix(): string {
    return this.options.pathPrefix;
  }

  /** Publish the metadata and arm the stale timer. */
  begin(): void {
    this.publishMeta();
    this.armStale();
  }

  publishMeta(): void {
    const meta = metaFor(this.options, this.zoneInputs, staleTimeoutMs(this.options) / 1000);
    const setDefault = this.out.setDefaultMetadata;
    if (setDefault) {
      for (const m of meta)
        void setDefault(m.path, m.value).catch(() => this.out.handleMessage({ updates: [{ meta: [m] }] }));
      return;
    }
    // Servers before 2.30: a meta delta, which overwrites the user's edits at every start.
    this.out.handleMessage({ updates: [{ meta }] });
  }

  // --- SourceSink ---------------------------------------------------------------------------

  snapshot(values: Model): void {
    if (this.stopped) return;
    const reconnected = this.stale !== null || !this.connected;
    this.connected = true;
    this.merge(values);
    this.lastFresh = this.clock.now();
    this.armStale();
    const now = this.clock.now();
    const resend = reconnected || now - this.lastDiscreteResend >= DISCRETE_RESEND_MS;
    if (resend) this.lastDiscreteResend = now;
    const out: PathValue[] = valuesOf(this.prefix, this.model, MEASUREMENT);
    this.changed(DISCRETE, resend, out);
    this.changed(IDENTITY, reconnected, out);
    out.push(...this.notifications(reconnected));
    if (this.stale !== null) {
      this.stale = null;
      this.out.setStatus(this.source.statusText());
    } else if (reconnected) {
      this.out.setStatus(this.source.statusText());
    }
    out.push(...this.notification('connection', this.connectionNow(), reconnected));
    this.send(out);
  }

  change(values: Model): void {
    if (this.stopped) return;
    // Kept even while the values are stale (a halted host's halpid says START, then OK, before
    // its first values): the snapshot that ends the staleness publishes them.
    this.merge(values);
    if (this.stale !== null) return;
    const out = this.changed(DISCRETE_AND_IDENTITY, false);
    out.push(...this.notifications(false));
    this.send(out);
  }

  blackout(note: BlackoutNote): void {
    if (this.stopped) return;
    if (note.phase === 'start') {
      this.blackoutStartedAt = this.clock.now();
      this.blackoutLimitS = note.time_limit;
      this.shutdownAfterBlackout = false;
    } else {
      this.blackoutStartedAt = null;
      this.shutdownAfterBlackout = note.phase === 'shutdown';
    }
    this.send(this.notifications(false));
  }

  supply(supply: SupplyModel): void {
    if (this.stopped) return;
    this.model.supply = supply;
    if (this.stale !== null) return;
    this.send(valuesOf(this.prefix, { supply }, ['measurement']));
  }

  poweroffFailed(reason: string): void {
    if (this.stopped) return;
    this.poweroffFailure = reason;
    this.send(this.notifications(false));
  }

  failure(reason: string): void {
    this.lastFailure = reason;
  }

  controller(note: ControllerNote): void {
    if (this.stopped) return;
    this.controllerDown = note.reachable ? null : note;
    this.send(this.notification('connection', this.connectionNow(), false));
  }

  /** The connection notification now: the controller's silence first, then stale data. */
  private connectionNow(): Notification {
    const down = this.controllerDown;
    return connectionNotification({
      stale: this.stale,
      connected: this.source.connectedText(),
      controllerDown: down && {
        powerCycleInS: down.powerCycleAt === null ? null : (down.powerCycleAt - this.clock.wallNow()) / 1000,
        error: down.error,
      },
    });
  }

  // --- stale data and stop -------------------------------------------------------------------

  private armStale(): void {
    if (this.staleTimer) this.clock.clearTimeout(this.staleTimer);
    const wait = this.lastFresh + staleTimeoutMs(this.options) - this.clock.now();
    this.staleTimer = this.clock.setTimeout(() => this.goStale(), wait);
  }

  private goStale(): void {
    this.staleTimer = null;
    if (this.stopped || this.stale !== null) return;
    const message = this.source.staleText(this.lastFailure);
    this.stale = message;
    const out: PathValue[] = nullsOf(this.prefix);
    for (const p of out) this.sent.delete(p.path);
    out.push(...this.notification('connection', this.connectionNow(), false));
    this.send(out);
    this.out.setError(message);
  }

  /** True while no data has arrived for the stale timeout. */
  get isStale(): boolean {
    return this.stale !== null;
  }

  /** Publish the stop values: nulls and "monitoring stopped". Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.staleTimer) this.clock.clearTimeout(this.staleTimer);
    this.staleTimer = null;
    const out: PathValue[] = nullsOf(this.prefix);
    for (const name of this.enabledNotifications()) out.push({ path: this.notificationPath(name), value: STOPPED });
    this.send(out);
  }

  // --- helpers ------------------------------------------------------------------------------

  private merge(values: Model): void {
    const model = this.model as Record<string, unknown>;
    for (const k in values) {
      const v = (values as Record<string, unknown>)[k];
      if (v !== undefined) model[k] = v;
    }
    const c = this.model.config;
    if (c) {
      const z = {
        ...this.zoneInputs,
        soloPowerOffThreshold: c.solo_power_off_threshold,
        powerOnThreshold: c.power_on_threshold,
      };
      if (
        z.soloPowerOffThreshold !== this.zoneInputs.soloPowerOffThreshold ||
        z.powerOnThreshold !== this.zoneInputs.powerOnThreshold
      ) {
        this.zoneInputs = z;
        this.publishMeta();
      }
    }
    const ds = this.model.daemon_state;
    if (ds === 'OK' || ds === 'START') this.shutdownAfterBlackout = false;
  }

  /** The values of `groups` that changed since last sent (all of them with `all`), appended to `out`. */
  private changed(groups: readonly Group[], all: boolean, out: PathValue[] = []): PathValue[] {
    const full = fullPaths(this.prefix);
    for (let i = 0; i < PATHS.length; i++) {
      const p = PATHS[i]!;
      if (!groups.includes(p.group)) continue;
      const value = p.value(this.model);
      if (value === undefined) continue;
      // Primitives compare as they are; only an object is serialised for the comparison.
      const key = value !== null && typeof value === 'object' ? JSON.stringify(value) : value;
      const path = full[i]!;
      if (all || this.sent.get(path) !== key) {
        this.sent.set(path, key);
        out.push({ path, value });
      }
    }
    return out;
  }

  private enabledNotifications(): NotificationName[] {
    const n = this.options.notifications;
    return (['blackout', 'shutdown', 'connection'] as const).filter((name) => n[name]);
  }

  private notificationPath(name: NotificationName): string {
    return `notifications.${this.prefix}.${name}`;
  }

  private secondsLeft(): number | undefined {
    if (this.blackoutStartedAt === null || this.blackoutLimitS === undefined) return undefined;
    return this.blackoutLimitS - (this.clock.now() - this.blackoutStartedAt) / 1000;
  }

  private notifications(force: boolean): PathValue[] {
    const b = blackoutNotification({
      powerState: this.model.state,
      daemonState: this.model.daemon_state,
      shutdownAfterBlackout: this.shutdownAfterBlackout,
      vCap: this.model.V_cap,
      secondsLeft: this.secondsLeft(),
    });
    const s = shutdownNotification({ powerState: this.model.state, poweroffFailure: this.poweroffFailure });
    return [...(b ? this.notification('blackout', b, force) : []), ...this.notification('shutdown', s, force)];
  }

  /** The notification if it changed; a changed message of the same state at most once a second. */
  private notification(name: NotificationName, n: Notification, force: boolean): PathValue[] {
    if (!this.options.notifications[name]) return [];
    const last = this.notified.get(name);
    const now = this.clock.now();
    if (!force && last && sameNotification(last.n, n)) return [];
    // A countdown (only its numbers change) is refreshed at most once a second.
    const numbersOnly = (m: string): string => m.replace(/[0-9]+(\.[0-9]+)?/g, '#');
    if (
      !force &&
      last &&
      last.n.state === n.state &&
      numbersOnly(last.n.message) === numbersOnly(n.message) &&
      now - last.at < COUNTDOWN_REFRESH_MS
    )
      return [];
    this.notified.set(name, { n, at: now });
    return [{ path: this.notificationPath(name), value: n }];
  }

  private send(values: PathValue[]): void {
    if (values.length === 0) return;
    this.out.handleMessage({ updates: [{ values }] });
  }
}
