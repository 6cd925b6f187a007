// halpid: configuration → engine → socket and web listener (docs/configuration.md). The process
// entry (main.ts) owns argv, signals and the exit code; this class owns everything else, so it
// can be started and stopped in a test.

import createDebug from 'debug';
import { createServer, type Server } from 'node:http';
import type { FaceStatus, ListenerConnections } from '../engine/api/metrics.js';
import { createApi, type Api } from '../engine/api/router.js';
import { BackendError, openBackend } from '../engine/backend.js';
import { RealClock, type Clock } from '../engine/clock.js';
import { poweroffCommandChecks } from '../engine/command-check.js';
import { commandActions } from '../engine/commands.js';
import { changedKeys, readConfig, reloadKind, type DaemonConfig } from '../engine/config-keys.js';
import { Engine } from '../engine/engine.js';
import type { Logger } from '../engine/log.js';
import { simulatorSocketPath } from '../engine/paths.js';
import { hex2 } from '../engine/registers.js';
import { VERSION } from '../engine/version.js';
import { Connections, HttpConnections, MAX_HEADER_BYTES } from './connections.js';
import { Face } from './faces.js';
import { applyGroup, closeSocketServer, listenOnSocket, resolveGroup, SocketError } from './socket.js';
import type { startWeb } from './web.js';

const configDebug = createDebug('halpid:config');

/** Start-up failed: the messages were logged; exit with `code`. */
export class StartupError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

export interface DaemonOptions {
  files: string[];
  flags: Partial<DaemonConfig>;
  logger: Logger;
  clock?: Clock;
  defaultFile?: string;
  panelDir?: string;
}

/** The supervisor's settings from the daemon configuration. */
const engineSettings = (c: DaemonConfig) => ({
  blackoutTimeLimitS: c['blackout-time-limit'],
  blackoutVoltageLimitV: c['blackout-voltage-limit'],
  dryRun: c['dry-run'],
  poweroffCommand: c.poweroff,
});

/** The command runner's settings, read per use: a reload changes them at once. */
const commandSettings = (c: DaemonConfig) => ({
  rtcwake: c.rtcwake,
  simExecuteCommands: c['sim-execute-commands'],
  poweroffTimeoutS: c['poweroff-timeout'],
  poweroffFallback: c['poweroff-fallback'],
});

/** A running TCP face: its server's close, and its clients. */
interface FaceHandle {
  close(): Promise<void>;
  connections: Connections;
}

interface Listener {
  server: Server;
  path: string;
  id: { dev: number; ino: number };
  connections: Connections;
}

/** The web listener takes small JSON bodies only (no flash there): 64 KiB, not the socket's 2 MiB. */
const WEB_BODY_LIMIT = 64 * 1024;

/** How long a stop waits for the faces' servers to report closed; their clients are destroyed already. */
const FACE_CLOSE_MS = 500;
/** A clean stop disarms the watchdog within this, whatever clients are connected (docs/configuration.md). */
export const STOP_DEADLINE_MS = 2000;

/** `p`, or nothing after `ms`: a face's close never holds a stop up. */
const within = (p: Promise<unknown>, ms: number): Promise<void> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(
      () => {},
      () => {},
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]).finally(() => clearTimeout(timer));
};

export class Daemon {
  private stopping = false;
  private web: Face<Awaited<ReturnType<typeof startWeb>> & FaceHandle> | null = null;
  private nut: Face<FaceHandle> | null = null;
  private releaseNutDemand: (() => void) | null = null;
  /**
   * The web listener's token when no web-token is configured: new at every start, printed in the
   * panel's URL (as notebook servers do), so that writes over the web always need a token. Made
   * when a web listener first starts: node:crypto (some twenty modules Node compiles at each
   * start under the bin's V8 flags) loads only with the listener.
   */
  private oneTimeToken = '';

  private constructor(
    private readonly opts: DaemonOptions,
    /** The configuration in force; reloads replace it, and everything reads it per use. */
    private readonly live: { config: DaemonConfig },
    readonly engine: Engine,
    readonly api: Api,
    private listener: Listener,
  ) {}

  get config(): DaemonConfig {
    return this.live.config;
  }

  get socketPath(): string {
    return this.listener.path;
  }

  get webUrl(): string | null {
    return this.web?.running?.url ?? null;
  }

  static async start(opts: DaemonOptions): Promise<Daemon> {
    const { logger } = opts;
    logger.info('halpid - HALPI2 power monitor and watchdog daemon');
    logger.info(`Version: ${VERSION}`);
    const loaded = await readConfig({ files: opts.files, flags: opts.flags, defaultFile: opts.defaultFile });
    for (const f of loaded.files) logger.info(`Loaded configuration from ${f}`);
    for (const w of loaded.warnings) logger.warn(w);
    if (loaded.errors.length > 0) {
      for (const e of loaded.errors) logger.error(e);
      throw new StartupError(loaded.errors[0]!, 1);
    }
    const config = loaded.config;
    const clock = opts.clock ?? new RealClock();
    let backend;
    try {
      backend = await openBackend({
        backend: config.backend,
        i2cBus: config['i2c-bus'],
        i2cAddr: config['i2c-addr'],
        simStateFile: config['sim-state-file'],
        clock,
        logger,
      });
    } catch (err) {
      if (err instanceof BackendError) {
        logger.error(err.message);
        throw new StartupError(err.message, 1);
      }
      throw err;
    }
    if (backend.simulator && !loaded.explicit.has('socket')) config.socket = simulatorSocketPath();
    // A poweroff command that cannot run is found now, not in the next blackout (docs/configuration.md).
    if (!backend.simulator || config['sim-execute-commands']) {
      for (const c of poweroffCommandChecks(config, loaded.explicit))
        logger.error(`${c.subject} cannot run: ${c.problem}`);
    }

    // The command settings and the dialect are read per use: a reload changes them at once.
    const live = { config };
    const engine = new Engine({
      bus: backend.bus,
      backend: backend.kind,
      simulator: backend.simulator,
      clock,
      logger,
      settings: engineSettings(config),
      actions: commandActions({
        logger,
        simulator: backend.simulator,
        settings: () => commandSettings(live.config),
      }),
    });

    try {
      const fw = await engine.exclusive((d) => d.readFirmwareVersion());
      logger.info(`Controller firmware ${fw}`);
    } catch (err) {
      logger.warn(
        `HALPI2 controller not responding at bus ${config['i2c-bus']}, address ${hex2(config['i2c-addr'])}: ${(err as Error).message}`,
      );
    }

    // The faces' status for /metrics; filled in once the daemon exists.
    let faces = (): FaceStatus[] => [];
    let connections = (): ListenerConnections[] => [];
    const api = createApi({
      engine,
      version: VERSION,
      dialect: () => live.config['api-compat'],
      faces: () => faces(),
      connections: () => connections(),
      origin: 'a client on the socket',
    });
    let listener: Listener;
    try {
      listener = await Daemon.listen(api, config, logger);
    } catch (err) {
      await engine.stop().catch(() => {});
      // One clear line for every way the socket can fail, never an uncaught exception.
      const line =
        err instanceof SocketError
          ? err.startupMessage
          : `Cannot listen on ${config.socket}: ${(err as Error).message}`;
      logger.error(line);
      throw new StartupError(line, 1);
    }
    const daemon = new Daemon(opts, live, engine, api, listener);
    faces = () => daemon.faceStatus();
    connections = () => daemon.connectionStatus();
    // Optional faces: one that cannot start is retried, never a reason not to supervise.
    if (config.web) {
      daemon.web = daemon.webFace(config.web);
      await daemon.web.begin();
    }
    if (config['nut-listen']) {
      daemon.nut = new Face('nut', 'the NUT listener', config['nut-listen'], () => daemon.startNut(config), logger);
      await daemon.nut.begin();
    }
    logger.info('Starting power management state machine');
    engine.start();
    return daemon;
  }

  private faceStatus(): FaceStatus[] {
    return [this.web?.status, this.nut?.status].filter((f): f is FaceStatus => f !== undefined);
  }

  private connectionStatus(): ListenerConnections[] {
    const all = [this.listener.connections, this.web?.running?.connections, this.nut?.running?.connections];
    return all
      .filter((c): c is Connections => c !== undefined)
      .map((c) => ({ listener: c.name, open: c.size, dropped: c instanceof HttpConnections ? c.dropped : 0 }));
  }

  private webFace(address: string) {
    return new Face(
      'web',
      'the web listener',
      address,
      () => this.startWebListener({ ...this.config, web: address }),
      this.opts.logger,
    );
  }

  /** The Network UPS Tools server (docs/nut.md): loaded only when configured. */
  private async startNut(config: DaemonConfig): Promise<FaceHandle> {
    const { startNutServer } = await import('../engine/nut/server.js');
    // The measurements must stay fresh for NUT clients too, from the first one on: a client that
    // connects before the first tick's block read would otherwise be told the data is stale.
    this.releaseNutDemand ??= this.engine.demand(1000);
    await this.engine.readMeasurements().catch(() => {});
    const nut = await startNutServer({
      engine: this.engine,
      listen: config['nut-listen'],
      user: config['nut-user'],
      password: config['nut-password'],
      primary: config['nut-primary'],
      staleMs: 5000,
      refreshStatus: true,
      onFsd: () => this.opts.logger.warn('Forced shutdown (FSD) set by a NUT primary'),
    });
    this.opts.logger.info(`NUT server listening on ${nut.host}:${nut.port} (UPS halpi2)`);
    return { close: () => nut.close(), connections: new Connections(nut.server, 'nut', this.opts.logger) };
  }

  private static async listen(api: Api, config: DaemonConfig, logger: Logger): Promise<Listener> {
    const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => api.handle(req, res));
    const id = await listenOnSocket(server, config.socket, config['socket-group'], logger);
    // After listening: a failed listen is the start-up's one error line, not this one's.
    const connections = new HttpConnections(server, 'socket', logger);
    logger.info(`HTTP server listening on ${config.socket}`);
    return { server, path: config.socket, id, connections };
  }

  private async startWebListener(config: DaemonConfig) {
    // express and the panel's server load only when a web listener is configured.
    const { startWeb } = await import('./web.js');
    if (!this.oneTimeToken) this.oneTimeToken = (await import('node:crypto')).randomBytes(24).toString('base64url');
    const webApi = createApi({
      engine: this.engine,
      version: VERSION,
      dialect: () => this.config['api-compat'],
      flash: false,
      counters: this.api.counters,
      events: this.api.events,
      faces: () => this.faceStatus(),
      bodyLimit: WEB_BODY_LIMIT,
      connections: () => this.connectionStatus(),
      origin: 'the web listener',
    });
    const web = await startWeb({
      address: config.web,
      api: webApi,
      token: () => this.config['web-token'] || this.oneTimeToken,
      logger: this.opts.logger,
      panelDir: this.opts.panelDir,
    });
    // A configured token is never logged; the one-time one is how the panel gets to write.
    if (!this.config['web-token']) this.opts.logger.info(`Open the panel with ${web.url}#token=${this.oneTimeToken}`);
    return { ...web, connections: new HttpConnections(web.server, 'web', this.opts.logger) };
  }

  /** SIGHUP: re-read the files, apply the original flags again, apply what can change live. */
  async reload(): Promise<void> {
    const { logger } = this.opts;
    logger.info('Received SIGHUP, reloading configuration');
    const loaded = await readConfig({
      files: this.opts.files,
      flags: this.opts.flags,
      defaultFile: this.opts.defaultFile,
    });
    for (const w of loaded.warnings) logger.warn(w);
    if (loaded.errors.length > 0) {
      logger.error(`Configuration reload failed: ${loaded.errors[0]}; keeping the previous configuration`);
      for (const e of loaded.errors.slice(1)) logger.error(e);
      return;
    }
    const next = loaded.config;
    if (this.engine.simulator && !loaded.explicit.has('socket')) next.socket = this.config.socket;
    const old = this.config;
    const applied: DaemonConfig = { ...old };
    const changed = changedKeys(old, next);
    // Stryker disable next-line all: debug output only
    configDebug('reload: changed keys %o', changed);
    for (const key of changed) {
      // Stryker disable next-line all: debug output only
      configDebug('reload: %s is %s', key, reloadKind(key) === 'restart' ? 'applied only on restart' : 'applied now');
      if (reloadKind(key) === 'restart') {
        logger.warn(`${key} changed; restart halpid to apply it`);
        continue;
      }
      (applied as Record<string, unknown>)[key] = next[key];
    }
    if (applied.socket !== old.socket) {
      try {
        const fresh = await Daemon.listen(this.api, applied, logger);
        const previous = this.listener;
        this.listener = fresh;
        if (closeSocketServer(previous.server, previous.path, previous.id))
          logger.info(`Removed socket file ${previous.path}`);
        previous.connections.destroyAll();
      } catch (err) {
        logger.error(`Cannot move the socket to ${applied.socket}: ${(err as Error).message}; keeping ${old.socket}`);
        applied.socket = old.socket;
      }
    } else if (applied['socket-group'] !== old['socket-group']) {
      const gid = resolveGroup(applied['socket-group']);
      try {
        if (gid === null) throw new SocketError(`Group ${applied['socket-group']} does not exist`);
        applyGroup(this.listener.path, applied['socket-group'], gid, logger);
      } catch (err) {
        logger.error(`${(err as Error).message}; keeping group ${old['socket-group']}`);
        applied['socket-group'] = old['socket-group'];
      }
    }
    if (applied.web !== old.web) {
      const previous = this.web;
      try {
        this.web = applied.web ? this.webFace(applied.web).adopt(await this.startWebListener(applied)) : null;
        await this.closeFace(previous);
      } catch (err) {
        if (previous?.running) {
          logger.error(
            `Cannot start the web listener on ${applied.web}: ${(err as Error).message}; keeping the previous one`,
          );
          applied.web = old.web;
        } else {
          // Nothing to keep: retry the new address, as at start-up.
          await this.closeFace(previous);
          this.web = this.webFace(applied.web);
          await this.web.begin();
        }
      }
    }
    this.live.config = applied;
    this.engine.updateSettings(engineSettings(applied));
    logger.info('Configuration reloaded');
  }

  /**
   * Stop a TCP face: no more start attempts, stop accepting, destroy its clients, then wait
   * (briefly) for its server to close.
   */
  private async closeFace(face: Face<FaceHandle> | null): Promise<void> {
    const running = face?.stop();
    if (!running) return;
    const closing = running.close();
    running.connections.destroyAll();
    await within(closing, FACE_CLOSE_MS);
  }

  /**
   * Stop every face: stop accepting, close event streams, destroy every client socket (HTTP
   * keep-alive, SSE, half-open, NUT, refused ones). Never waits on a client. True if our socket
   * file was removed.
   */
  private async closeListeners(): Promise<boolean> {
    this.api.close();
    const removed = closeSocketServer(this.listener.server, this.listener.path, this.listener.id);
    this.listener.connections.destroyAll();
    this.releaseNutDemand?.();
    await Promise.all([this.closeFace(this.web), this.closeFace(this.nut)]);
    return removed;
  }

  /** Set while a stop waits for a blackout's outcome: a second signal calls it to exit at once. */
  private abandonBlackout: ((signal: string) => void) | null = null;

  /**
   * A stop during a blackout (docs/blackout.md): the controller runs the computer on the supercap
   * and will not shut it down by itself, so halpid stays until the power returns or the shutdown
   * it owes has started. A second signal exits at once, said at error level.
   */
  private async waitOutBlackout(signal: string): Promise<void> {
    const { logger } = this.opts;
    const e = this.engine;
    if (e.state !== 'BLACKOUT') return;
    const elapsed = e.supervisor.blackoutElapsedS ?? 0;
    const limit = e.settings.blackoutTimeLimitS;
    logger.error(
      `Received ${signal} during a blackout (${elapsed.toFixed(1)}s of ${limit}s, ${Math.max(0, limit - elapsed).toFixed(1)}s left): ` +
        `halpid stays until the power returns or its shutdown has started; send ${signal} again to exit now, ` +
        'leaving the computer to run until the supercap is empty',
    );
    await new Promise<void>((resolve) => {
      const off = e.on('state', (s) => {
        if (s.daemon_state === 'BLACKOUT') return;
        off();
        this.abandonBlackout = null;
        logger.info(
          s.daemon_state === 'OK'
            ? 'Power resumed: going on with the stop'
            : 'The blackout shutdown has started: going on with the stop',
        );
        resolve();
      });
      this.abandonBlackout = (again) => {
        off();
        this.abandonBlackout = null;
        logger.error(
          `Received ${again} again: exiting during a blackout; nothing will shut this computer down cleanly before the supercap runs out`,
        );
        resolve();
      };
    });
  }

  /** SIGINT/SIGTERM cleanup (docs/configuration.md); resolves with the exit code. */
  async stop(signal: string): Promise<number> {
    const { logger } = this.opts;
    if (this.stopping) {
      if (this.abandonBlackout) this.abandonBlackout(signal);
      else logger.info(`Received ${signal} (already shutting down)`);
      return -1;
    }
    this.stopping = true;
    logger.info(`Received ${signal}`);
    await this.waitOutBlackout(signal);
    const cleanup = async (): Promise<void> => {
      const removed = await this.closeListeners();
      const result = await this.engine.stop();
      if (result.watchdogDisabled) logger.info('Watchdog disabled');
      else logger.warn(`Failed to disable watchdog during shutdown: ${result.error}`);
      if (removed) logger.info('Removed socket file');
    };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), STOP_DEADLINE_MS);
    });
    const outcome = await Promise.race([cleanup().then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      // Last resort: the bus's synchronous write, where it has one (the I2C adapter does).
      const disarmed = this.engine.disarmWatchdogSync();
      logger.error(`Cleanup timed out${disarmed ? '; watchdog disabled with a direct write' : ''}`);
      return 1;
    }
    logger.info('Cleanup complete');
    logger.info('Daemon shutdown complete');
    return 0;
  }
}
