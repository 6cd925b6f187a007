// The Signal K server plugin (docs/signalk.md): a thin face over the engine. `start` is
// synchronous and cheap; the mode is resolved and the data flows in async work that catches its
// own errors; `stop` settles everything and publishes the stop values.

import type { Clock, TimerHandle } from '../engine/clock.js';
import { RealClock } from '../engine/clock.js';
import type { Logger } from '../engine/log.js';
import { SimulatedController } from '../engine/simulator/controller.js';
import { ClientSource } from './client-source.js';
import { EngineSource } from './engine-source.js';
import { History } from '../engine/history.js';
import { historyFeed, historyRouter } from './history.js';
import { nothingFound, probeDevice, probeHalpid, type ModeDeps } from './modes.js';
import { adminSchema, uiSchema } from './admin-schema.js';
import { resolveOptions, type PluginOptions } from './options.js';
import { Publisher, type Delta } from './publisher.js';
import { putHandlers, refusedPutPaths, type PutHandler } from './puts.js';
import { simRouter, type RouterLike } from './sim-routes.js';
import type { Source } from './source.js';

export const PLUGIN_ID = 'signalk-halpi2';
export const PLUGIN_NAME = 'HALPI2 Power';
/** How often `auto` looks again: for a halpid that appeared, or for anything at all. */
export const REPROBE_MS = 30_000;
/** In `auto` client mode, how long halpid may be away before the mode is resolved again. */
export const CLIENT_GRACE_MS = 60_000;
const STOP_LIMIT_MS = 5000;

/** The part of the Signal K ServerAPI the plugin uses (all of it exists on 2.23.0). */
export interface ServerApp {
  handleMessage(id: string, delta: Delta): void;
  setPluginStatus(text: string): void;
  setPluginError(text: string): void;
  registerPutHandler(
    context: string,
    path: string,
    handler: (context: string, path: string, value: unknown, cb: (r: unknown) => void) => unknown,
    source?: string,
  ): void;
  debug(...args: unknown[]): void;
  error(...args: unknown[]): void;
  getSelfPath?(path: string): unknown;
  /** Whether another plugin is installed and enabled (from the server's plugin settings). */
  pluginEnabled?(id: string): boolean;
  /** Server 2.30+ only: feature-checked. */
  setDefaultMetadata?(path: string, value: Record<string, unknown>): Promise<unknown>;
}

export interface PluginDeps extends ModeDeps {
  clock?: Clock;
  /** The simulator for simulator mode (tests pass one on a fake clock). */
  simulator?: () => SimulatedController;
}

interface Run {
  options: PluginOptions;
  source: Source | null;
  publisher: Publisher | null;
  stopped: boolean;
  timer: ReturnType<Clock['setTimeout']> | null;
  /** Work in progress (mode changes), awaited by stop. */
  busy: Promise<void>;
  /** Appended to every status and error: the invalid settings stay in sight, not only in the log. */
  note: string;
}

export function createPlugin(app: ServerApp, deps: PluginDeps = {}) {
  const clock = deps.clock ?? new RealClock();
  let run: Run | null = null;
  let stopping: Promise<void> | null = null;
  /** One history for the plugin's life in the server, whatever the mode (docs/signalk.md). */
  const history = new History();

  const logger: Logger = {
    info: (m) => app.debug(m),
    warn: (m) => app.error(m),
    error: (m) => app.error(m),
  };

  /** Start a source: publisher, metadata, data. */
  const attach = (r: Run, source: Source): void => {
    r.source = source;
    const publisher = new Publisher(
      {
        handleMessage: (delta) => app.handleMessage(PLUGIN_ID, delta),
        setStatus: (t) => app.setPluginStatus(t + r.note),
        setError: (t) => app.setPluginError(t + r.note),
        ...(typeof app.setDefaultMetadata === 'function'
          ? { setDefaultMetadata: (p: string, v: Record<string, unknown>) => app.setDefaultMetadata!(p, v) }
          : {}),
      },
      r.options,
      clock,
      source,
    );
    r.publisher = publisher;
    publisher.begin();
    // The engine fills the history from its ticks; halpid's data passes through it here.
    source.start(source instanceof EngineSource ? publisher : historyFeed(publisher, history, clock));
  };

  const detach = async (r: Run, opts: { handover?: boolean } = {}): Promise<void> => {
    const s = r.source;
    r.source = null;
    r.publisher?.stop();
    r.publisher = null;
    history.blackoutEnded(clock.now(), 'stopped');
    if (s instanceof EngineSource) await s.stop(opts);
    else await s?.stop();
  };

  const engineSource = (r: Run, mode: 'engine' | 'simulator', bus?: import('../engine/bus.js').Bus): EngineSource => {
    if (mode === 'simulator') {
      const sim =
        deps.simulator?.() ??
        new SimulatedController({ clock, start: 'host-running', hostGated: true, warn: (m) => logger.warn(m) });
      return new EngineSource({ mode, bus: sim, simulator: sim, options: r.options, logger, clock, history });
    }
    return new EngineSource({ mode, bus: bus!, options: r.options, logger, clock, history });
  };

  /** Resolve `auto` (or check `engine`'s precondition) and attach the source. */
  const resolve = async (r: Run): Promise<void> => {
    const o = r.options;
    if (o.mode === 'simulator') return attach(r, engineSource(r, 'simulator'));
    if (o.mode === 'client') return attach(r, new ClientSource(o.socketPath, o.pollInterval, { clock }));
    const halpid = await probeHalpid(o.socketPath, deps);
    if (r.stopped) return;
    if (o.mode === 'engine' && halpid.ok) {
      app.setPluginError(`halpid is running at ${o.socketPath}; use mode "client" or stop halpid${r.note}`);
      return;
    }
    if (halpid.ok) return attach(r, new ClientSource(o.socketPath, o.pollInterval, { clock }));
    const device = await probeDevice(o.engine.i2cBus, o.engine.i2cAddress, deps);
    if (r.stopped) {
      if (device.ok) await device.bus.close().catch(() => {});
      return;
    }
    if (device.ok) return attach(r, engineSource(r, 'engine', device.bus));
    if (device.noModule)
      app.setPluginError(
        (o.mode === 'engine'
          ? device.reason
          : `No halpid answered at ${o.socketPath} (${halpid.reason}). ${device.reason}`) + r.note,
      );
    else if (o.mode === 'engine')
      app.setPluginError(
        (device.permission ? device.reason : `No HALPI2 controller on /dev/i2c-${o.engine.i2cBus}: ${device.reason}`) +
          r.note,
      );
    else app.setPluginError(nothingFound(o.socketPath, halpid.reason, o.engine.i2cBus, device.reason) + r.note);
  };

  /** `auto` keeps looking: a halpid that appears takes over the bus; a client whose halpid is gone looks again. */
  let clientLostAt: number | null = null;
  const reprobe = async (r: Run): Promise<void> => {
    const o = r.options;
    if (o.mode === 'engine' || o.mode === 'simulator' || o.mode === 'client') {
      if (!r.source && o.mode === 'engine') await resolve(r);
      return;
    }
    const s = r.source;
    if (!s) return resolve(r);
    if (s instanceof EngineSource) {
      const halpid = await probeHalpid(o.socketPath, deps);
      if (!halpid.ok || r.stopped) return;
      logger.info(`halpid appeared at ${o.socketPath}; handing the controller over to it`);
      await detach(r, { handover: true });
      if (!r.stopped) attach(r, new ClientSource(o.socketPath, o.pollInterval, { clock }));
      return;
    }
    // Client: resolve again once halpid has been away longer than a restart takes.
    if (!r.publisher?.isStale) {
      clientLostAt = null;
      return;
    }
    clientLostAt ??= clock.now();
    if (clock.now() - clientLostAt < CLIENT_GRACE_MS) return;
    const halpid = await probeHalpid(o.socketPath, deps);
    if (halpid.ok || r.stopped) return;
    const device = await probeDevice(o.engine.i2cBus, o.engine.i2cAddress, deps);
    if (!device.ok || r.stopped) {
      if (device.ok) await device.bus.close().catch(() => {});
      return;
    }
    logger.info(`halpid is gone from ${o.socketPath}; driving the controller on /dev/i2c-${o.engine.i2cBus}`);
    clientLostAt = null;
    await detach(r);
    // Stopped meanwhile: the bus the probe opened is not left open.
    if (r.stopped) await device.bus.close().catch(() => {});
    else attach(r, engineSource(r, 'engine', device.bus));
  };

  const scheduleReprobe = (r: Run): void => {
    r.timer = clock.setTimeout(() => {
      r.timer = null;
      if (r.stopped) return;
      r.busy = r.busy
        .then(() => reprobe(r))
        .catch((err: Error) => app.setPluginError(err.message + r.note))
        .finally(() => {
          if (!r.stopped) scheduleReprobe(r);
        });
    }, REPROBE_MS);
  };

  const plugin = {
    id: PLUGIN_ID,
    name: PLUGIN_NAME,
    description:
      'HALPI2 power: input and supercap voltages, blackout alarms, USB ports and controller settings; runs the blackout shutdown itself or reads a running halpid',
    schema: () => adminSchema(),
    uiSchema: () => uiSchema,

    start(config: unknown): void {
      if (run && !run.stopped) return;
      const { options, problems } = resolveOptions(config);
      for (const p of problems) app.error(`Invalid setting replaced by its default: ${p}`);
      let note = problems.length ? ` (invalid settings replaced by defaults: ${problems.join('; ')})` : '';
      if (otherPluginEnabled(app)) note += `. ${SIDE_BY_SIDE}`;
      app.setPluginStatus(`Starting…${note}`);
      const r: Run = {
        options,
        source: null,
        publisher: null,
        stopped: false,
        timer: null,
        busy: Promise.resolve(),
        note,
      };
      run = r;
      stopping = null;
      clientLostAt = null;
      const handlers: Array<{ path: string; handler: PutHandler }> = putHandlers(
        options,
        () => r.source,
        async () => {
          await r.source?.refresh();
        },
      );
      for (const { path, handler } of handlers) {
        app.registerPutHandler('vessels.self', path, (context, p, value) => handler(context, p, value));
      }
      const refused = refusedPutPaths(options);
      if (refused.length)
        app.handleMessage(PLUGIN_ID, {
          updates: [{ meta: refused.map((path) => ({ path, value: { supportsPut: false } })) }],
        });
      warnAboutOldPlugin(app, options.pathPrefix);
      r.busy = resolve(r)
        .catch((err: Error) => app.setPluginError(err.message + r.note))
        .finally(() => {
          if (!r.stopped) scheduleReprobe(r);
        });
    },

    stop(): Promise<void> {
      const r = run;
      if (!r) return Promise.resolve();
      if (stopping) return stopping;
      r.stopped = true;
      if (r.timer) clock.clearTimeout(r.timer);
      const settle = (async () => {
        await r.busy.catch(() => {});
        await detach(r);
      })();
      // On the plugin's clock, so that tests reach the limit; cleared once the stop is over.
      let limit: TimerHandle | undefined;
      const deadline = new Promise<void>((res) => {
        limit = clock.setTimeout(res, STOP_LIMIT_MS);
      });
      stopping = Promise.race([settle, deadline])
        .catch(() => {})
        .finally(() => clock.clearTimeout(limit!));
      return stopping;
    },

    registerWithRouter(router: RouterLike): void {
      historyRouter(router, () => (run && !run.stopped ? history : null), clock);
      simRouter(router, () => {
        if (!run || run.stopped) return { running: false };
        const s = run.source;
        return { running: true, engine: s instanceof EngineSource && s.mode === 'simulator' ? s.engine : undefined };
      });
    },

    /** For tests and the sim routes: the source of the moment. */
    get current(): Source | null {
      return run?.source ?? null;
    },
  };
  return plugin;
}

/** Hat Labs' plugin, which publishes the same paths (docs/signalk.md, "Moving from signalk-halpi"). */
export const VENDOR_PLUGIN_ID = 'signalk-halpi';
export const SIDE_BY_SIDE =
  'The signalk-halpi plugin is enabled too and publishes the same paths, so each value flips between two sources: ' +
  'disable signalk-halpi under Server → Plugin Config (this plugin replaces it; the settings socketPath, pollInterval and pathPrefix carry over)';

function otherPluginEnabled(app: ServerApp): boolean {
  try {
    return app.pluginEnabled?.(VENDOR_PLUGIN_ID) === true;
  } catch {
    return false; // only a warning
  }
}

/** signalk-halpi publishes the same paths: say so when its values are in the tree (docs/signalk.md). */
function warnAboutOldPlugin(app: ServerApp, prefix: string): void {
  try {
    const node = app.getSelfPath?.(`${prefix}.dcInputVoltage`) as { $source?: string } | undefined;
    if (node?.$source && !node.$source.startsWith(PLUGIN_ID)) {
      app.error(
        `${prefix} values from another source (${node.$source}) are in the data tree; disable the signalk-halpi plugin so that each path has one source`,
      );
    }
  } catch {
    // only a warning
  }
}
