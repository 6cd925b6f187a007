// The Engine: the single owner of the bus. It serialises access through one queue, runs the
// supervisor's 100 ms tick, keeps a snapshot of the latest measurements so concurrent readers
// share one bus read, and publishes typed events for the faces (halpid, the Signal K plugin).

import createDebug from 'debug';
import type { Bus } from './bus.js';
import { RealClock, type Clock, type TimerHandle } from './clock.js';
import { DFU_BLOCK_SIZE, uploadFirmware, type FlashProgress, type DfuTimings } from './dfu.js';
import {
  CONFIG_KEYS,
  decodeConfig,
  Device,
  type ConfigKey,
  type ControllerConfig,
  type DeviceOptions,
  type I2cCounters,
  type Measurements,
} from './device.js';
import { ControllerError, DfuError } from './errors.js';
import { checkFirmwareImage } from './firmware-image.js';
import { TypedEmitter, type EngineEvents, type ShutdownEvent, type UsbEvent } from './events.js';
import { History } from './history.js';
import { silentLogger, type Logger } from './log.js';
import { BusQueue } from './queue.js';
import { Reachability, UNREACHABLE_AFTER_MS, type ReachabilityEvent } from './reachability.js';
import { Reg, type PowerState } from './registers.js';
import { runSteps, type Steps } from './steps.js';
import type { SimulatedController } from './simulator/controller.js';
import {
  Supervisor,
  TICK_MS,
  WATCHDOG_MS,
  type BlackoutEvent,
  type BlackoutReading,
  type DaemonState,
  type SupervisorSettings,
} from './supervisor.js';

/**
 * How far behind its slot a tick that ended within its timer (its read answered at once: the
 * simulator's) may run before the next delay takes it back to the grid. Re-armed for 100 ms, such
 * a tick drifts by the wake-up's lateness and its microseconds of work, about 0.4 ms a tick on the
 * 2-core VM. Each step back arms two new timers (the short delay, then 100 ms again), each a new
 * list in Node's timers, run from cold code: with 10 ms that was one tick in 23 and about a tenth
 * of an idle daemon's CPU; with 50 ms it is one tick in 120. Such drift moves the ticks' phase,
 * not their spacing (100 ms and its lateness): a cut is still read within one tick, and the
 * blackout's limit has its own timer.
 */
export const TICK_DRIFT_MS = 50;

/**
 * The same for a tick that waited for its read (the real adapter's thread pool, a retry, bus
 * time): its own duration is drift too, and a slow one would otherwise push the next tick up to
 * TICK_DRIFT_MS later than its slot. Such a tick makes its timer anew anyway.
 */
export const AWAITED_TICK_DRIFT_MS = 10;

/**
 * The delay to arm for a slot `exact` ms away. Node keeps one list of timers per delay and drops a
 * list when it runs empty: a delay that wobbled between 99 and 100 with the timer's lateness made
 * and dropped a list (in a dictionary, with libuv's timer re-armed) on most idle ticks. So a slot
 * up to `driftMs` late, or up to 1 ms early (Node's timers fire up to that much early), gets the
 * plain 100 ms and the one list stays; once the ticks have drifted further behind, the exact
 * delay takes them back to the grid.
 */
export const tickDelay = (exact: number, driftMs = TICK_DRIFT_MS): number =>
  exact > TICK_MS - driftMs && exact <= TICK_MS + 1 ? TICK_MS : exact;

/** A block read that failed on a register other than V_in: a tick can still read V_in alone. */
const failedOnOtherThanVin = (err: unknown): boolean => err instanceof ControllerError && err.register !== Reg.V_IN;

// The reachability check's options, made once (it runs at every tick).
const ANNOUNCE = Object.freeze({ announce: true });
const QUIET = Object.freeze({ announce: false });

// Stryker disable next-line all: debug output only
const stateDebug = createDebug('halpid:state');

/** How long a halted simulated host keeps its rail before it is said to be powered off. */
const HALTED_NOTE_MS = 100;

export type Backend = 'i2c' | 'simulator';

/** What the face runs when the engine decides to power off or set a wake-up alarm. */
export interface EngineActions {
  /** Start the poweroff command; not awaited. */
  poweroff(command: string): void;
  /** Set the RTC wake-up alarm (Unix seconds); rejects with the failure text. */
  rtcwake(unixSeconds: number): Promise<void>;
}

export interface EngineOptions {
  bus: Bus;
  backend: Backend;
  settings: SupervisorSettings;
  actions: EngineActions;
  clock?: Clock;
  logger?: Logger;
  /** The simulator behind `bus`, when the backend is the simulator. */
  simulator?: SimulatedController;
  device?: DeviceOptions;
  /** Full measurement block period when no client asks for fresher values (default 5000 ms). */
  idleBlockIntervalMs?: number;
  dfuTimings?: Partial<DfuTimings>;
  /** The history to fill (the Signal K plugin keeps one across engine restarts); a new one by default. */
  history?: History;
}

/** The /values set: the measurement block plus identity and status with their fallbacks. */
export interface ValuesSnapshot extends Measurements {
  '5v_output_enabled': boolean;
  watchdog_timeout: number;
  watchdog_enabled: boolean;
  hardware_version: string;
  firmware_version: string;
  device_id: string;
  /** Register 0x1A, only when asked for (dialect 4); 0 when its read fails. */
  usb_port_state?: number;
}

/** Registers outside the measurement block, as last read (for event streams and /metrics). */
export interface StatusCache {
  output5v?: boolean;
  watchdogMs?: number;
  hardwareVersion?: string;
  firmwareVersion?: string;
  deviceId?: string;
}

/** What /values reports for a register outside the block that cannot be read (docs/api.md). */
export const STATUS_FALLBACK: Readonly<Required<StatusCache>> = Object.freeze({
  output5v: false,
  watchdogMs: 0,
  hardwareVersion: 'N/A',
  firmwareVersion: 'N/A',
  deviceId: '0000000000000000',
});

type Identity = Pick<StatusCache, 'hardwareVersion' | 'firmwareVersion' | 'deviceId'>;

/** The /values set from a measurement block and the status registers, each with its fallback. */
export function valuesSnapshot(m: Measurements, status: StatusCache): ValuesSnapshot {
  const F = STATUS_FALLBACK;
  const wdMs = status.watchdogMs ?? F.watchdogMs;
  // Named one by one, in the block's order: a spread of `m` cost 11 % of a loaded daemon's CPU.
  return {
    V_in: m.V_in,
    V_cap: m.V_cap,
    I_in: m.I_in,
    T_mcu: m.T_mcu,
    T_pcb: m.T_pcb,
    state: m.state,
    watchdog_elapsed: m.watchdog_elapsed,
    raw: m.raw,
    '5v_output_enabled': status.output5v ?? F.output5v,
    watchdog_timeout: wdMs / 1000,
    watchdog_enabled: wdMs > 0,
    hardware_version: status.hardwareVersion ?? F.hardwareVersion,
    firmware_version: status.firmwareVersion ?? F.firmwareVersion,
    device_id: status.deviceId ?? F.deviceId,
  };
}

/** The ports a USB write changed (`usb2 on → off`), for its log line. */
function usbChange(before: number, after: number): string {
  const on = (bits: number, p: number) => ((bits & (1 << p)) !== 0 ? 'on' : 'off');
  const changed = [0, 1, 2, 3].filter((p) => on(before, p) !== on(after, p));
  return changed.length ? changed.map((p) => `usb${p} ${on(before, p)} → ${on(after, p)}`).join(', ') : 'no change';
}

export const usbObject = (bits: number): UsbEvent => ({
  usb0: (bits & 1) !== 0,
  usb1: (bits & 2) !== 0,
  usb2: (bits & 4) !== 0,
  usb3: (bits & 8) !== 0,
});

export class Engine extends TypedEmitter<EngineEvents> {
  readonly backend: Backend;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly device: Device;
  readonly queue = new BusQueue();
  readonly supervisor: Supervisor;
  readonly simulator: SimulatedController | undefined;
  /** Unix time (ms) the engine was created. */
  readonly startedAtWall: number;
  /** Whether the controller answers (a dead bus is announced within a second). */
  readonly reachability: Reachability;
  /** The last 24 h of readings and the past blackouts, from what the engine reads anyway. */
  readonly history: History;

  private readonly actions: EngineActions;
  private readonly bus: Bus;
  private readonly idleBlockIntervalMs: number;
  private readonly dfuTimings: Partial<DfuTimings> | undefined;
  private latest: { at: number; wall: number; values: Measurements } | null = null;
  private inflight: Promise<Measurements> | null = null;
  private controllerState: PowerState | null = null;
  private usbBits: number | null = null;
  /** What /metrics and /events know about registers outside the block. */
  readonly status: StatusCache = {};
  private statusAt = -Infinity;
  private identityAt = -Infinity;
  /** The identity registers as last read in full (null: read them on the next request). */
  private identity: Identity | null = null;
  private identityEpoch = 0;
  private demands = new Map<number, number>();
  private nextDemandId = 1;
  private timer: TimerHandle | null = null;
  private reachGuard: TimerHandle | null = null;
  private running = false;
  private stopped = false;
  private tickInProgress: Promise<void> | null = null;
  private loopStart = 0;
  /** The 100 ms slot of the last tick: a timer that fires early must not run a slot twice. */
  private slot = 0;
  private lastErrorEventAt = -Infinity;
  private flashChain: Promise<void> = Promise.resolve();
  private flashAbort: AbortController | null = null;
  private unsubscribeHost: (() => void) | null = null;

  constructor(opts: EngineOptions) {
    super();
    this.backend = opts.backend;
    this.clock = opts.clock ?? new RealClock();
    this.logger = opts.logger ?? silentLogger;
    this.actions = opts.actions;
    this.bus = opts.bus;
    this.simulator = opts.simulator;
    this.idleBlockIntervalMs = opts.idleBlockIntervalMs ?? 5000;
    this.dfuTimings = opts.dfuTimings;
    this.history = opts.history ?? new History();
    this.reachability = new Reachability(
      this.clock,
      (ev) => this.reachabilityChanged(ev),
      () => this.forgetIdentity(),
    );
    this.device = new Device(this.reachability.wrap(opts.bus), this.clock, opts.device);
    this.startedAtWall = this.clock.wallNow();
    this.supervisor = new Supervisor(this.supervisorPort(), { ...opts.settings });
  }

  // --- lifecycle ----------------------------------------------------------------------------

  get state(): DaemonState {
    return this.supervisor.state;
  }

  get settings(): Readonly<SupervisorSettings> {
    return this.supervisor.settings;
  }

  /** Apply new limits, dry-run or poweroff command; a running blackout keeps its start time. */
  updateSettings(change: Partial<SupervisorSettings>): void {
    this.supervisor.settings = { ...this.supervisor.settings, ...change };
  }

  /** Start the 100 ms state machine (first tick at once). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopStart = this.clock.now();
    this.slot = 0;
    if (this.simulator) {
      // The simulated model is advanced by each tick (runTick), not by a timer of its own: one
      // wake-up a second fewer for an idle daemon.
      const sim = this.simulator;
      // A rebooted simulated host means a rebooted daemon: START again (docs/configuration.md).
      const offHost = sim.onHostChange((on) => {
        if (on && this.running) {
          this.logger.info('Simulated host booted; restarting the power management state machine');
          this.forgetIdentity();
          this.history.blackoutEnded(this.clock.now(), 'stopped');
          this.supervisor.restart();
        }
      });
      // Say what the simulated hardware does, so that a halted host is not taken for a fault.
      let haltedNote: TimerHandle | null = null;
      const offPhase = sim.onHostPhase((phase) => {
        if (!this.running) return;
        if (phase === 'booting') this.logger.info(`Simulated host booting (controller state ${sim.state})`);
        else if (phase === 'halting') this.logger.info('Simulated host halting');
        else if (phase === 'unpowered') this.warnHostOff(sim);
        else if (phase === 'halted') {
          // A live controller cuts the rail one step after the host halts, and the state it then
          // takes decides the advice: say it once the rail has stayed on (standby, a hung controller).
          haltedNote ??= this.clock.setTimeout(() => {
            haltedNote = null;
            sim.sync(); // a cut since then is told as its own phase, even while the ticks wait on the bus
            if (sim.host.phase === 'halted') this.warnHostOff(sim);
          }, HALTED_NOTE_MS);
        }
      });
      this.unsubscribeHost = () => {
        offHost();
        offPhase();
        if (haltedNote) this.clock.clearTimeout(haltedNote);
      };
    }
    this.schedule(0);
  }

  /** The simulated host has no power: say why and what brings it back. */
  private warnHostOff(sim: SimulatedController): void {
    const state = sim.state;
    const alarm = sim.host.rtcAlarm;
    const button = 'wake it with the power button: POST /sim/button {"action":"click"}';
    const advice = !sim.powerConnected
      ? 'restore power with: POST /sim/power {"on":true}'
      : state === 'PoweredDownBlackout' || state === 'BlackoutShutdown'
        ? 'it boots again by itself once the controller has restarted and the supercap is charged'
        : (state === 'PoweredDownManual' || state === 'ManualShutdown') && sim.snapshot().controller.auto_restart
          ? 'auto-restart boots it again in about 5 s'
          : state === 'Standby' && alarm !== null
            ? `its wake-up alarm boots it at ${new Date(alarm * 1000).toISOString()}, or ${button}`
            : button;
    this.logger.warn(
      `Simulated host powered off (controller state ${state}); ${advice}. ` +
        'Until it boots, the controller cannot be reached, as on real hardware: reads answer 500',
    );
  }

  /**
   * Stop the state machine, abort a running flash, disarm the watchdog (waiting only for the
   * operation in progress). Never leaves the watchdog armed on a clean exit, unless told that
   * another daemon takes the controller over.
   */
  async stop(opts: { disarmWatchdog?: boolean } = {}): Promise<{ watchdogDisabled: boolean; error?: string }> {
    this.running = false;
    this.stopped = true;
    this.supervisor.dispose();
    this.history.blackoutEnded(this.clock.now(), 'stopped');
    if (this.reachGuard) this.clock.clearTimeout(this.reachGuard);
    this.reachGuard = null;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.unsubscribeHost?.();
    this.simulator?.stop();
    if (this.flashAbort) {
      this.logger.info('Aborting firmware update');
      this.flashAbort.abort();
      await this.queue.run(() => this.device.dfuAbort(), { urgent: true }).catch(() => {});
    }
    // Handing the controller over to a halpid that arms it itself: leave the watchdog as it is.
    if (opts.disarmWatchdog === false) return { watchdogDisabled: false };
    try {
      await this.queue.run(() => this.device.setWatchdogMs(0), { urgent: true });
      return { watchdogDisabled: true };
    } catch (err) {
      return { watchdogDisabled: false, error: (err as Error).message };
    }
  }

  /**
   * Disarm the watchdog synchronously (0x12 ← 0), for a process `exit` hook where nothing
   * asynchronous runs any more; a last resort after a clean stop was not possible. Returns whether
   * the write went out.
   */
  disarmWatchdogSync(): boolean {
    if (!this.bus.writeSync) return false;
    try {
      this.bus.writeSync(Uint8Array.of(Reg.WATCHDOG_TIMEOUT, 0, 0));
      return true;
    } catch {
      return false;
    }
  }

  /** Resolves once the tick in progress (if any) has finished. */
  async idle(): Promise<void> {
    await this.tickInProgress;
  }

  /** Whether the tick's timer was armed for TICK_MS (so that refreshing it arms the same). */
  private timerIsTick = false;

  /** The tick's timer callback, made once (not a new closure for each of ten ticks a second). */
  private readonly onTickTimer = (): void => this.runTick();

  private schedule(delay: number): void {
    if (delay === TICK_MS && this.timerIsTick && this.timer && this.clock.refresh) {
      // The tick's own timer again for 100 ms: refreshed from within its callback (an idle tick
      // ends there), Node puts it back in its list as it does an interval's.
      this.timer = this.clock.refresh(this.timer);
      return;
    }
    this.timer = this.clock.setTimeout(this.onTickTimer, delay);
    this.timerIsTick = delay === TICK_MS;
  }

  private runTick(): void {
    if (!this.running) return;
    // What runs now takes microseconds and reads the time a dozen times: read once. What the
    // tick waits for (a promise) reads the clock afresh.
    const clock = this.clock;
    clock.hold?.();
    try {
      // The simulated host boots and halts without traffic too (a DEAD daemon reads nothing).
      this.simulator?.sync();
      // An OK tick whose read the simulator answered at once ends within the call: no promise.
      const tick = this.supervisor.tick();
      if (tick) void this.waitForTick(tick);
      else this.tickEnded(TICK_DRIFT_MS);
    } finally {
      clock.release?.();
    }
  }

  private async waitForTick(tick: Promise<void>): Promise<void> {
    this.tickInProgress = tick;
    // A second without an answer is announced at that second, even while a tick hangs on the bus.
    // The guard's timer is armed only for a tick still waiting once this turn of the event loop
    // is over (a read on the thread pool, a hung bus): one the microtasks finished needs none,
    // and an idle daemon then sets one timer per tick, not two.
    setImmediate(() => {
      if (this.tickInProgress === tick) this.armReachGuard();
    });
    await tick;
    this.tickInProgress = null;
    this.tickEnded(AWAITED_TICK_DRIFT_MS);
  }

  private tickEnded(driftMs: number): void {
    if (this.reachGuard && this.reachability.answering) {
      this.clock.clearTimeout(this.reachGuard);
      this.reachGuard = null;
    }
    if (!this.running) return;
    this.checkReachability();
    // Fixed rate: the next slot on the 100 ms grid; slots missed by a slow tick are skipped. The
    // slot is counted, not only derived from the time: a timer that fired a little early would
    // otherwise land in the slot it was meant to leave and run it twice.
    const now = this.clock.now();
    this.slot = Math.max(this.slot + 1, Math.floor((now - this.loopStart) / TICK_MS) + 1);
    this.schedule(tickDelay(this.loopStart + this.slot * TICK_MS - now, driftMs));
  }

  private armReachGuard(): void {
    if (this.reachGuard || !this.running) return;
    this.reachGuard = this.clock.setTimeout(() => {
      this.reachGuard = null;
      this.checkReachability();
      if (this.reachability.reachable && !this.reachability.answering) this.armReachGuard();
    }, this.reachability.dueInMs ?? UNREACHABLE_AFTER_MS);
  }

  /** Announce a controller that stopped answering (only while its answers matter: not after a shutdown). */
  private checkReachability(): void {
    const state = this.supervisor.state;
    // The watchdog bites only in OperationalCoOp: after START armed it, at the timeout last known.
    const watchdog = state === 'OK' ? (this.status.watchdogMs ?? this.settings.watchdogMs ?? WATCHDOG_MS) : null;
    this.reachability.check(watchdog, state === 'START' || state === 'OK' || state === 'BLACKOUT' ? ANNOUNCE : QUIET);
  }

  private reachabilityChanged(ev: ReachabilityEvent): void {
    if (ev.reachable) {
      this.logger.info(`Controller answering again after ${ev.silence_s.toFixed(1)}s without an answer`);
    } else {
      const silent = ev.silence_s.toFixed(1);
      const consequence =
        ev.power_cycle_at !== null
          ? `its watchdog will power-cycle this computer in about ${Math.max(0, Math.round((ev.power_cycle_at - this.clock.wallNow()) / 1000))}s unless it answers again`
          : this.supervisor.state === 'BLACKOUT'
            ? "the blackout's shutdown goes ahead on time without it"
            : 'its watchdog is not armed: nothing will power-cycle this computer';
      this.logger.error(`Controller not answering for ${silent}s (${ev.error}): ${consequence}`);
    }
    this.emit('controller', ev);
  }

  private supervisorPort() {
    // No getter in this literal: V8 makes an object literal with an accessor a dictionary, and
    // the supervisor reads this port on every tick.
    return {
      now: () => this.clock.now(),
      timer: (ms: number, fn: () => void) => {
        const handle = this.clock.setTimeout(fn, ms);
        return () => this.clock.clearTimeout(handle);
      },
      armWatchdog: (ms: number) =>
        this.exclusive(async (d) => {
          await d.setWatchdogMs(ms);
          this.status.watchdogMs = ms;
        }),
      readVin: () => this.tickVin(),
      readBlackout: () => this.blackoutReading(),
      readControllerState: () => this.exclusive((d) => d.readState()).catch(() => null),
      requestShutdown: () => this.exclusive((d) => d.requestShutdown()),
      poweroff: (command: string) => this.actions.poweroff(command),
      logger: this.logger,
      transition: () => {
        this.history.noteState(this.clock.now(), this.clock.wallNow(), this.supervisor.state);
        this.publishState();
      },
      blackout: (ev: BlackoutEvent) => {
        const now = this.clock.now();
        if (ev.phase === 'start') this.history.blackoutStarted(now, this.clock.wallNow());
        else this.history.blackoutEnded(now, ev.phase === 'end' ? 'power_returned' : 'shutdown', ev.duration);
        this.emit('blackout', ev);
      },
      shutdown: () =>
        this.emit('shutdown', {
          command: this.settings.poweroffCommand,
          kind: 'shutdown',
          source: 'blackout',
          wakeup: null,
        }),
      tickFailed: (error: Error) => {
        const now = this.clock.now();
        if (now - this.lastErrorEventAt >= 1000) {
          this.lastErrorEventAt = now;
          this.emit('error', { message: error.message });
        }
      },
    };
  }

  // --- bus access ---------------------------------------------------------------------------

  /** One logical operation with exclusive use of the bus. */
  exclusive<T>(fn: (device: Device) => Promise<T>): Promise<T> {
    return this.queue.run(() => fn(this.device));
  }

  get i2cCounters(): I2cCounters {
    return this.device.counters;
  }

  // --- measurements -------------------------------------------------------------------------

  /** Ask for a full measurement poll at least every `intervalMs` until the returned release is called. */
  demand(intervalMs: number): () => void {
    const id = this.nextDemandId++;
    this.demands.set(id, Math.max(TICK_MS, intervalMs));
    return () => this.demands.delete(id);
  }

  /** Period of the full measurement block right now. */
  get blockIntervalMs(): number {
    let interval = this.idleBlockIntervalMs;
    for (const ms of this.demands.values()) interval = Math.min(interval, ms);
    return interval;
  }

  /** The latest full measurement poll, with its Unix time (ms), or null before the first. */
  get lastMeasurements(): { values: Measurements; wall: number } | null {
    return this.latest ? { values: this.latest.values, wall: this.latest.wall } : null;
  }

  get lastControllerState(): PowerState | null {
    return this.controllerState;
  }

  /**
   * Forget the cached block so the next reader goes to the bus (the simulator's controls change
   * the world at once, and a test expects to see it at once).
   */
  invalidateMeasurements(): void {
    this.forgetIdentity();
    if (this.latest) this.latest = { ...this.latest, at: -Infinity };
    this.inflight = null; // a read already under way may have seen the old world
  }

  /** The measurement block, shared with other readers when younger than `maxAgeMs`. */
  readMeasurements(maxAgeMs = TICK_MS): Promise<Measurements> {
    let m: Measurements | Promise<Measurements>;
    try {
      m = this.measurementsNow(maxAgeMs);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return m instanceof Promise ? m : Promise.resolve(m);
  }

  /**
   * The same, without a promise when it is shared or the bus answered each of its reads at once
   * (Bus.readNow); throws what `readMeasurements` would reject with.
   */
  private measurementsNow(maxAgeMs = TICK_MS): Measurements | Promise<Measurements> {
    if (this.latest && this.clock.now() - this.latest.at < maxAgeMs) return this.latest.values;
    if (this.inflight) return this.inflight;
    const d = this.device;
    const out = this.queue.runNow(() => runSteps(d.blockSteps()));
    if (!(out instanceof Promise)) return this.noteMeasurements(out);
    const p = out.then((values) => this.noteMeasurements(values));
    this.inflight = p;
    const clear = (): void => {
      if (this.inflight === p) this.inflight = null;
    };
    p.then(clear, clear);
    return p;
  }

  /** A block just read: kept for those who share it, in the history, announced. */
  private noteMeasurements(values: Measurements): Measurements {
    this.latest = { at: this.clock.now(), wall: this.clock.wallNow(), values };
    this.history.noteAux(this.latest.at, this.latest.wall, values.V_cap, values.I_in, values.T_mcu, values.T_pcb);
    // Stryker disable next-line all: debug output only
    stateDebug('measurements %o', values);
    this.emit('values', values);
    if (values.state !== this.controllerState) {
      this.controllerState = values.state;
      this.publishState();
    }
    return values;
  }

  private blockDue(): boolean {
    return !this.latest || this.clock.now() - this.latest.at >= this.blockIntervalMs - TICK_MS / 2;
  }

  /** The tick's read, made once: a new closure each tick is one more object and a lazy-compile stub call. */
  private readonly readVinNow = (): number | Promise<number> => this.device.vinNow();

  /** The tick's V_in (noted in the history): the whole block when it is due, else one register. */
  private tickVin(): number | Promise<number> {
    // From a bus that answers at once (the simulator) the tick reads without a promise: less
    // code run for each of ten ticks a second, and for the block's every fifty. Any other bus
    // (the real adapter's) takes the same path with promises.
    if (this.blockServesTick()) return this.noteTickVin(this.latest!.values.V_in);
    if (!this.blockDue()) {
      // The common tick reads one register.
      let vin: number | Promise<number>;
      try {
        vin = this.queue.runNow(this.readVinNow);
      } catch (err) {
        return Promise.reject(err as Error);
      }
      return typeof vin === 'number' ? this.noteTickVin(vin) : vin.then((v) => this.noteTickVin(v));
    }
    let m: Measurements | Promise<Measurements>;
    try {
      m = this.measurementsNow(1);
    } catch (err) {
      return this.vinAfterBlockFailed(err);
    }
    if (m instanceof Promise) {
      return m.then(
        (v) => this.noteTickVin(v.V_in),
        (err: unknown) => this.vinAfterBlockFailed(err),
      );
    }
    return this.noteTickVin(m.V_in);
  }

  /** The block failed on another register than V_in: the tick still gets its V_in, read alone. */
  private vinAfterBlockFailed(err: unknown): Promise<number> {
    if (!failedOnOtherThanVin(err)) return Promise.reject(err as Error);
    return this.exclusive((d) => d.readVin()).then((v) => this.noteTickVin(v));
  }

  private noteTickVin(vin: number): number {
    this.history.noteVinAt(this.clock.now(), this.wallNow, vin);
    return vin;
  }

  /** The wall clock for the history, which asks for it only when a bucket begins. */
  private readonly wallNow = (): number => this.clock.wallNow();

  /** A block a request read within this tick's slot serves the tick too. */
  private blockServesTick(): boolean {
    return this.latest !== null && this.clock.now() - this.latest.at < TICK_MS;
  }

  /**
   * A BLACKOUT tick's V_in, I_in and V_cap: from the block when it is due, else three registers
   * in one bus turn. Only a failed V_in read fails the tick; the other two then count as unknown.
   */
  private async blackoutReading(): Promise<BlackoutReading> {
    const r = await this.readBlackoutTick();
    this.history.noteVin(this.clock.now(), this.clock.wallNow(), r.V_in);
    return r;
  }

  private async readBlackoutTick(): Promise<BlackoutReading> {
    if (this.blockServesTick()) {
      const fresh = this.latest!.values;
      return { V_in: fresh.V_in, I_in: fresh.I_in, V_cap: fresh.V_cap };
    }
    if (this.blockDue()) {
      try {
        const m = await this.readMeasurements(1);
        return { V_in: m.V_in, I_in: m.I_in, V_cap: m.V_cap };
      } catch (err) {
        // Another register of the block failed: the three the decision needs are read one by one.
        if (!failedOnOtherThanVin(err)) throw err;
      }
    }
    return this.exclusive(async (d) => {
      const V_in = await d.readVin();
      const I_in = await d.readIin().catch(() => null);
      const V_cap = await d.readVcap().catch(() => null);
      // The block path noted its readings already; these three are this tick's own.
      this.history.noteAux(this.clock.now(), this.clock.wallNow(), V_cap ?? NaN, I_in ?? NaN);
      return { V_in, I_in, V_cap };
    });
  }

  private publishState(): void {
    this.emit('state', { controller_state: this.controllerState, daemon_state: this.supervisor.state });
  }

  /** The /values set (docs/api.md): block errors propagate, the rest falls back. */
  readValues(opts: { usb?: boolean } = {}): Promise<ValuesSnapshot> {
    const v = this.valuesNow(opts.usb === true);
    return v instanceof Promise ? v : Promise.resolve(v);
  }

  /**
   * The same without a promise when the block is shared or the bus answered every read at once
   * (Bus.readNow: the simulator); a failure is a rejected promise, never a throw. From the first
   * read the bus cannot answer at once (the real adapter's, a fault, a retry) it goes on as
   * `readValues` always did: the same reads in the same order, the same errors.
   */
  valuesNow(usb = false): ValuesSnapshot | Promise<ValuesSnapshot> {
    let m: Measurements | Promise<Measurements>;
    try {
      m = this.measurementsNow();
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (m instanceof Promise) return m.then((m) => this.queue.runNow(() => runSteps(this.statusSteps(m, usb))));
    // No throw to catch here: every read after the block has its fallback.
    return this.queue.runNow(() => runSteps(this.statusSteps(m, usb)));
  }

  /** The registers of /values beyond the block, each with its fallback: a sequence of reads (steps.ts). */
  private *statusSteps(m: Measurements, usb: boolean): Steps<ValuesSnapshot> {
    const d = this.device;
    const F = STATUS_FALLBACK;
    // Read in halpid 5.0.2's order: 0x03, 0x04, 0x25, 0x10, 0x12. The identity never changes
    // while the controller runs: it is read again only after a flash, a restart or a bus error.
    const id = this.identity ?? (yield* this.identitySteps());
    const s = this.status;
    s.hardwareVersion = id.hardwareVersion;
    s.firmwareVersion = id.firmwareVersion;
    s.deviceId = id.deviceId;
    try {
      s.output5v = yield* d.output5vSteps();
    } catch {
      s.output5v = F.output5v;
    }
    try {
      s.watchdogMs = yield* d.watchdogTimeoutSteps();
    } catch {
      s.watchdogMs = F.watchdogMs;
    }
    // Built from the status just read: nothing else runs on the bus meanwhile (exclusive).
    const snapshot = valuesSnapshot(m, s);
    if (usb) {
      try {
        snapshot.usb_port_state = yield* d.usbSteps();
      } catch {
        snapshot.usb_port_state = 0;
      }
    }
    return snapshot;
  }

  /** Hardware version, firmware version and device id; kept when all three were read. */
  private *identitySteps(): Steps<Identity> {
    const d = this.device;
    const F = STATUS_FALLBACK;
    // Kept unless forgotten while being read: every failed transaction forgets it (the
    // reachability's hook, so a register that fell back is never kept), and so does a
    // simulator control or a restart meanwhile.
    const epoch = this.identityEpoch;
    let hardwareVersion = F.hardwareVersion;
    let firmwareVersion = F.firmwareVersion;
    let deviceId = F.deviceId;
    try {
      hardwareVersion = yield* d.hardwareVersionSteps();
    } catch {
      // the fallback
    }
    try {
      firmwareVersion = yield* d.firmwareVersionSteps();
    } catch {
      // the fallback
    }
    try {
      deviceId = yield* d.deviceIdSteps();
    } catch {
      // the fallback
    }
    const id = { hardwareVersion, firmwareVersion, deviceId };
    if (epoch === this.identityEpoch) this.identity = id;
    return id;
  }

  /** Forget the identity (a flash, a controller or host restart, a bus error). */
  private forgetIdentity(): void {
    this.identity = null;
    this.identityEpoch++;
  }

  /**
   * Refresh the registers outside the block for observers: 0x10, 0x12 and 0x1A at most once per
   * `statusMs`, versions and device id at most once per `identityMs` (docs/api.md).
   */
  async refreshStatus(statusMs = 1000, identityMs = 60_000): Promise<void> {
    const now = this.clock.now();
    const status = now - this.statusAt >= statusMs;
    const identity = now - this.identityAt >= identityMs;
    if (!status && !identity) return;
    if (status) this.statusAt = now;
    if (identity) this.identityAt = now;
    const bits = await this.exclusive(async (d) => {
      const s = this.status;
      let usb: number | null = null;
      if (status) {
        s.output5v = await d.read5vOutput().catch(() => s.output5v);
        s.watchdogMs = await d.readWatchdogTimeoutMs().catch(() => s.watchdogMs);
        usb = await d.readUsb().catch(() => null);
      }
      if (identity) {
        const F = STATUS_FALLBACK;
        s.hardwareVersion = await d.readHardwareVersion().catch(() => s.hardwareVersion ?? F.hardwareVersion);
        s.firmwareVersion = await d.readFirmwareVersion().catch(() => s.firmwareVersion ?? F.firmwareVersion);
        s.deviceId = await d.readDeviceId().catch(() => s.deviceId ?? F.deviceId);
      }
      return usb;
    });
    if (bits !== null) this.noteUsb(bits);
  }

  // --- controller configuration -------------------------------------------------------------

  /** Every setting, each falling back on its own (docs/api.md): never fails. */
  async readConfig(): Promise<ControllerConfig> {
    return this.exclusive(async (d) => {
      const fallback: ControllerConfig = {
        watchdog_timeout: 0,
        power_on_threshold: 0,
        solo_power_off_threshold: 0,
        led_brightness: 0,
        auto_restart: false,
        solo_depleting_timeout: 0,
      };
      const out = { ...fallback } as Record<ConfigKey, number | boolean>;
      for (const key of CONFIG_KEYS) out[key] = await d.readConfig(key).catch(() => fallback[key]);
      return out as ControllerConfig;
    });
  }

  readConfigKey<K extends ConfigKey>(key: K): Promise<ControllerConfig[K]> {
    return this.exclusive((d) => d.readConfig(key));
  }

  /**
   * Write one setting (raw register value, docs/api.md), then publish the re-read config. `who`
   * names the face that asked, for the log line that records the change (old → new).
   */
  async writeConfigRaw(key: ConfigKey, raw: number, who = 'a client'): Promise<void> {
    const old = await this.exclusive(async (d) => {
      const before = await d.readConfig(key).catch(() => undefined);
      await d.writeConfigRaw(key, raw);
      return before;
    });
    const now = decodeConfig(key, raw);
    this.logger.info(
      `Setting ${key} changed by ${who}: ${old === undefined ? '(unread)' : String(old)} → ${String(now)}`,
    );
    if (key === 'watchdog_timeout') this.status.watchdogMs = raw;
    if (this.listenerCount('config') > 0) this.emit('config', await this.readConfig());
  }

  // --- USB ----------------------------------------------------------------------------------

  async readUsb(): Promise<number> {
    const bits = await this.exclusive((d) => d.readUsb());
    this.noteUsb(bits);
    return bits;
  }

  /**
   * Read-modify-write of 0x1A as one logical operation. A failure is a ControllerError whose
   * `op` says whether the read or the write failed.
   */
  async updateUsb(change: (bits: number) => number, who = 'a client'): Promise<number> {
    const [before, bits] = await this.exclusive(async (d) => {
      const old = await d.readUsb();
      const next = change(old) & 0x0f;
      await d.writeUsb(next);
      return [old, next] as const;
    });
    this.logger.info(`USB ports set by ${who}: ${usbChange(before, bits)}`);
    this.noteUsb(bits);
    return bits;
  }

  private noteUsb(bits: number): void {
    if (bits === this.usbBits) return;
    this.usbBits = bits;
    this.emit('usb', usbObject(bits));
  }

  get lastUsb(): number | null {
    return this.usbBits;
  }

  // --- shutdown and standby requested by a client -------------------------------------------

  /** 0x30, then the poweroff command (docs/api.md, D1). */
  async requestShutdown(): Promise<void> {
    const cmd = this.settings.poweroffCommand;
    if (this.settings.dryRun) {
      this.logger.info(`Dry run: would request shutdown and execute ${cmd}`);
      return;
    }
    this.logger.info('Shutdown requested over the API');
    await this.exclusive((d) => d.requestShutdown());
    this.startPoweroff(cmd, { kind: 'shutdown', source: 'api', wakeup: null });
  }

  /** rtcwake, 0x31, then the poweroff command (docs/api.md, D2). */
  async requestStandby(wakeupUnixS: number, wakeupText: string): Promise<void> {
    const cmd = this.settings.poweroffCommand;
    if (this.settings.dryRun) {
      this.logger.info(`Dry run: would set the wake-up alarm to ${wakeupText}, request standby and execute ${cmd}`);
      return;
    }
    this.logger.info(`Standby requested over the API, wake-up at ${wakeupText}`);
    await this.actions.rtcwake(wakeupUnixS);
    await this.exclusive((d) => d.requestStandby());
    this.startPoweroff(cmd, { kind: 'standby', source: 'api', wakeup: wakeupUnixS });
  }

  private startPoweroff(cmd: string, ev: Omit<ShutdownEvent, 'command'>): void {
    if (cmd) this.actions.poweroff(cmd);
    else this.logger.warn('Dry-run mode: poweroff command is empty');
    this.emit('shutdown', { command: cmd, ...ev });
  }

  // --- firmware update ----------------------------------------------------------------------

  get flashInProgress(): boolean {
    return this.flashAbort !== null;
  }

  /**
   * Upload an image; uploads are serialised among themselves, the bus is not held between steps.
   * `tag` marks this upload's progress events, so a client waiting in the queue can tell them
   * from those of the upload before it.
   */
  flash(image: Uint8Array, opts: { tag?: string } = {}): Promise<void> {
    // No DFU transaction for an image the controller's bootloader could not start (any face).
    try {
      checkFirmwareImage(image);
    } catch (err) {
      this.logger.warn(`Firmware image refused: ${(err as Error).message}`);
      return Promise.reject(err);
    }
    const tagged = (p: FlashProgress): FlashProgress & { upload?: string } =>
      opts.tag ? { ...p, upload: opts.tag } : p;
    const run = async (): Promise<void> => {
      if (this.stopped) throw new DfuError('Firmware update aborted');
      const abort = new AbortController();
      this.flashAbort = abort;
      const blocks = Math.ceil(image.length / DFU_BLOCK_SIZE);
      this.logger.info(`Starting firmware update (${image.length} bytes, ${blocks} blocks)`);
      try {
        await uploadFirmware(image, {
          clock: this.clock,
          exclusive: (fn) => this.exclusive(fn),
          onProgress: (p: FlashProgress) => this.emit('flash', tagged(p)),
          signal: abort.signal,
          timings: this.dfuTimings,
        });
        this.logger.info('Firmware update committed; it takes effect after the next full power cycle');
      } catch (err) {
        const message = (err as Error).message;
        this.logger.error(`Firmware update failed: ${message}`);
        this.emit('flash', tagged({ phase: 'error', error: message }));
        throw err;
      } finally {
        this.flashAbort = null;
        this.forgetIdentity();
      }
    };
    const result = this.flashChain.then(run, run);
    this.flashChain = result.catch(() => {});
    return result;
  }
}
