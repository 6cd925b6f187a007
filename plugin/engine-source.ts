// Engine and simulator modes (docs/signalk.md): the plugin owns the controller, runs the same
// supervisor as halpid (blackout detection, shutdown, watchdog) and reads the values directly,
// without HTTP. The watchdog is armed with the plugin's own timeout and disarmed on stop.

import type { Bus } from '../engine/bus.js';
import { RealClock, type Clock, type TimerHandle } from '../engine/clock.js';
import { commandActions, type CommandActions } from '../engine/commands.js';
import { encodeConfig, type ConfigKey } from '../engine/device.js';
import { Engine, usbObject, valuesSnapshot } from '../engine/engine.js';
import { ControllerError } from '../engine/errors.js';
import type { History } from '../engine/history.js';
import type { Logger } from '../engine/log.js';
import { hex2 } from '../engine/registers.js';
import type { SimulatedController } from '../engine/simulator/controller.js';
import { parseStandby } from '../engine/api/standby.js';
import { parseJson } from '../engine/api/json-parse.js';
import { supplyNow } from '../engine/supply.js';
import { SUPERCAP_CUTOFF_V } from '../engine/supervisor.js';
import { VERSION } from '../engine/version.js';
import type { PluginOptions } from './options.js';
import { ActionError, type Mode, type Source, type SourceSink, type StandbyRequest } from './source.js';

const CONFIG_EVERY_MS = 60_000;

export interface EngineSourceOptions {
  mode: Extract<Mode, 'engine' | 'simulator'>;
  bus: Bus;
  simulator?: SimulatedController;
  options: PluginOptions;
  logger: Logger;
  clock?: Clock;
  /** The plugin's history buffer, filled by the engine. */
  history?: History;
}

export class EngineSource implements Source {
  readonly mode: Extract<Mode, 'engine' | 'simulator'>;
  readonly engine: Engine;
  private readonly clock: Clock;
  private readonly options: PluginOptions;
  private sink: SourceSink | null = null;
  private timer: TimerHandle | null = null;
  private polling: Promise<void> | null = null;
  private configAt = -Infinity;
  /** The controller's solo power-off threshold, where the supercap's charge is 0 %. */
  private cutoff = SUPERCAP_CUTOFF_V;
  private releaseDemand: (() => void) | null = null;
  private off: Array<() => void> = [];
  private stopping: Promise<void> | null = null;
  private readonly bus: Bus;
  private readonly actions: CommandActions;

  constructor(opts: EngineSourceOptions) {
    this.mode = opts.mode;
    this.clock = opts.clock ?? new RealClock();
    this.options = opts.options;
    this.bus = opts.bus;
    const e = opts.options.engine;
    this.actions = commandActions({
      logger: opts.logger,
      simulator: opts.simulator,
      // No fallback: the Signal K server's user may run only the configured command (docs/signalk.md).
      settings: () => ({ rtcwake: 'rtcwake', simExecuteCommands: false, poweroffTimeoutS: 15, poweroffFallback: '' }),
      onPoweroffFailure: (reason) => this.sink?.poweroffFailed(reason),
    });
    this.engine = new Engine({
      bus: opts.bus,
      backend: opts.simulator ? 'simulator' : 'i2c',
      simulator: opts.simulator,
      clock: this.clock,
      logger: opts.logger,
      settings: {
        blackoutTimeLimitS: e.blackoutTimeLimit,
        blackoutVoltageLimitV: e.blackoutVoltageLimit,
        dryRun: false,
        poweroffCommand: e.poweroffCommand,
        watchdogMs: Math.round(e.watchdogTimeout * 1000),
      },
      actions: this.actions,
      history: opts.history,
    });
  }

  statusText(): string {
    if (this.mode === 'simulator') return 'Simulated HALPI2 controller (no hardware)';
    return `Controlling HALPI2 on /dev/i2c-${this.options.engine.i2cBus} (firmware ${this.engine.status.firmwareVersion ?? 'N/A'})`;
  }

  connectedText(): string {
    return 'HALPI2 controller responding';
  }

  staleText(reason: string): string {
    if (this.mode === 'simulator') return `Simulated HALPI2 controller not responding: ${reason}`;
    const e = this.options.engine;
    return `HALPI2 controller not responding on /dev/i2c-${e.i2cBus} at ${hex2(e.i2cAddress)}: ${reason}`;
  }

  start(sink: SourceSink): void {
    this.sink = sink;
    const e = this.engine;
    this.releaseDemand = e.demand(this.options.pollInterval);
    this.off.push(
      e.on('state', (s) =>
        sink.change({ daemon_state: s.daemon_state, ...(s.controller_state ? { state: s.controller_state } : {}) }),
      ),
      e.on('usb', (u) => sink.change({ usb: u })),
      e.on('config', (c) => sink.change({ config: c })),
      e.on('blackout', (b) =>
        sink.blackout(b.phase === 'start' ? { phase: 'start', time_limit: b.time_limit } : { phase: b.phase }),
      ),
      e.on('controller', (c) =>
        sink.controller({ reachable: c.reachable, powerCycleAt: c.power_cycle_at, error: c.error }),
      ),
    );
    // Last resort: a server that exits without stopping the plugin leaves no watchdog armed.
    process.once('exit', this.onExit);
    e.start();
    this.schedule(0);
    if (this.options.nut.enabled)
      this.nutReady = this.startNut().catch((err: Error) => sink.failure(`NUT server: ${err.message}`));
  }

  private nut: { close(): Promise<void>; server: import('node:net').Server } | null = null;
  private nutReady: Promise<unknown> = Promise.resolve();

  /** The Network UPS Tools server (docs/nut.md), in engine and simulator modes. */
  private async startNut(): Promise<void> {
    const { startNutServer } = await import('../engine/nut/server.js');
    const n = this.options.nut;
    const nut = await startNutServer({
      engine: this.engine,
      listen: n.listen,
      user: n.user,
      password: n.password,
      primary: false,
      staleMs: Math.max(5000, 3 * this.options.pollInterval),
    });
    this.nut = nut;
    this.engine.logger.info(`NUT server listening on ${nut.host}:${nut.port} (UPS halpi2)`);
  }

  /** The NUT server's port, once it listens. */
  get nutPort(): number | null {
    return this.nut ? (this.nut.server.address() as { port: number }).port : null;
  }

  /** Resolves once the NUT server listens (or failed to). */
  nutStarted(): Promise<unknown> {
    return this.nutReady;
  }

  private readonly onExit = (): void => {
    this.engine.disarmWatchdogSync();
  };

  private schedule(delay: number): void {
    this.timer = this.clock.setTimeout(() => {
      this.polling = this.poll().finally(() => {
        this.polling = null;
        if (!this.stopping) this.schedule(this.options.pollInterval);
      });
    }, delay);
  }

  /** One snapshot: the shared measurement block, the status registers, the config now and then. */
  private async poll(): Promise<void> {
    const e = this.engine;
    try {
      const m = await e.readMeasurements(this.options.pollInterval);
      await e.refreshStatus(this.options.pollInterval / 2, 60_000);
      const now = this.clock.now();
      let config;
      if (now - this.configAt >= CONFIG_EVERY_MS) {
        config = await e.readConfig();
        this.configAt = now;
        this.cutoff = config.solo_power_off_threshold;
      }
      const v = valuesSnapshot(m, e.status);
      const usb = e.lastUsb;
      this.sink?.snapshot({
        V_in: v.V_in,
        V_cap: v.V_cap,
        I_in: v.I_in,
        T_mcu: v.T_mcu,
        T_pcb: v.T_pcb,
        state: v.state,
        watchdog_elapsed: v.watchdog_elapsed,
        watchdog_timeout: v.watchdog_timeout,
        watchdog_enabled: v.watchdog_enabled,
        '5v_output_enabled': v['5v_output_enabled'],
        hardware_version: v.hardware_version,
        firmware_version: v.firmware_version,
        device_id: v.device_id,
        daemon_version: VERSION,
        daemon_state: e.state,
        ...(usb !== null ? { usb: usbObject(usb) } : {}),
        ...(config ? { config } : {}),
        supply: supplyNow(e, this.cutoff),
      });
    } catch (err) {
      this.sink?.failure((err as Error).message);
    }
  }

  async refresh(): Promise<void> {
    this.configAt = -Infinity;
    this.engine.invalidateMeasurements();
    await this.polling;
    await this.poll();
  }

  /** Stop; `handover` leaves the watchdog armed for a halpid that takes over. */
  stop(opts: { handover?: boolean } = {}): Promise<void> {
    this.stopping ??= (async () => {
      if (this.timer) this.clock.clearTimeout(this.timer);
      process.off('exit', this.onExit);
      this.releaseDemand?.();
      for (const off of this.off) off();
      await this.polling;
      await this.nutReady;
      await this.nut?.close();
      const result = await this.engine.stop({ disarmWatchdog: !opts.handover });
      if (!result.watchdogDisabled && !opts.handover)
        this.engine.logger.warn(`Failed to disable the watchdog: ${result.error}`);
      await this.bus.close().catch(() => {});
      this.actions.close(); // the descriptors kept for the poweroff: a restarted plugin takes its own
    })();
    return this.stopping;
  }

  // --- writes -------------------------------------------------------------------------------

  private async write<T>(fn: () => Promise<T>): Promise<T> {
    if (this.stopping) throw new ActionError(503, 'The plugin is stopping');
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ActionError) throw err;
      if (err instanceof ControllerError) throw new ActionError(502, err.message);
      throw new ActionError(502, (err as Error).message);
    }
  }

  setUsb(port: number, on: boolean): Promise<void> {
    const bit = 1 << port;
    return this.write(async () => {
      await this.engine.updateUsb((bits) => (on ? bits | bit : bits & ~bit), 'Signal K');
    });
  }

  setConfig(key: ConfigKey, value: number | boolean): Promise<void> {
    const raw = encodeConfig(key, typeof value === 'boolean' ? Number(value) : value);
    return this.write(() => this.engine.writeConfigRaw(key, raw, 'Signal K'));
  }

  shutdown(): Promise<void> {
    return this.write(() => this.engine.requestShutdown());
  }

  standby(request: StandbyRequest): Promise<void> {
    return this.write(async () => {
      const parsed = parseStandby(parseJson(JSON.stringify(request)), this.clock.wallNow());
      if (!parsed.ok) throw new ActionError(400, parsed.message);
      await this.engine.requestStandby(parsed.wakeup, parsed.text);
    });
  }
}
