// The daemon's blackout state machine (docs/configuration.md):
// START → OK ⇄ BLACKOUT → SHUTDOWN → DEAD on a fixed 100 ms tick. Comparisons are strict and in
// float32; the blackout timer runs on the monotonic clock and survives failed ticks. The decision
// rules against bad readings are in docs/blackout.md: a full-scale V_in is a read error, power
// counts as resumed only after it has held (and the controller agrees), and a single reading never
// flips the decision either way.

import { fixedHalfEven, RepeatLimiter, type Logger } from './log.js';
import { decodeVin, type PowerState } from './registers.js';

export const DAEMON_STATES = ['START', 'OK', 'BLACKOUT', 'SHUTDOWN', 'DEAD'] as const;
export type DaemonState = (typeof DAEMON_STATES)[number];

export const TICK_MS = 100;
export const WATCHDOG_MS = 10_000;

/** Ticks of failed shutdown requests (0x30) after which the poweroff command runs anyway. */
export const SHUTDOWN_REQUEST_TICKS = 10;

/** V_in must stay above the limit this long before power counts as resumed. */
export const RESUME_CONFIRM_MS = 300;

/**
 * The largest V_in the controller can report (raw 0xFFFF, ≈39.9994 V). The HALPI2's input is rated
 * far below it, so a reading there is a saturated or corrupted read (0xFF bytes), not a voltage.
 */
export const VIN_FULL_SCALE_V = decodeVin(0xffff);

/** Controller states in which the Pi runs on the supercap (or is being cut): power has not resumed. */
const CONTROLLER_BLACKOUT_STATES: ReadonlySet<PowerState | null> = new Set<PowerState | null>([
  'BlackoutSolo', 'BlackoutCoOp', 'BlackoutShutdown', 'PoweredDownBlackout',
]);

/** A V_in reading that cannot be a measurement. */
export class ImplausibleReadingError extends Error {
  override name = 'ImplausibleReadingError';
}

export interface SupervisorSettings {
  blackoutTimeLimitS: number;
  blackoutVoltageLimitV: number;
  dryRun: boolean;
  poweroffCommand: string;
  /** Watchdog timeout armed at START (default 10 s; 0 leaves it off). The Signal K plugin uses 60 s. */
  watchdogMs?: number;
}

export type BlackoutEvent =
  | { phase: 'start'; V_in: number; time_limit: number; voltage_limit: number }
  | { phase: 'end'; duration: number }
  | { phase: 'shutdown'; duration: number };

/** What the supervisor needs from the engine. */
export interface SupervisorPort {
  now(): number;
  armWatchdog(ms: number): Promise<void>;
  /** V_in for this tick (the engine reads the full block instead when it is due). */
  readVin(): Promise<number>;
  /** The controller's power state (register 0x15) now, or null when it cannot be read. */
  readControllerState(): Promise<PowerState | null>;
  requestShutdown(): Promise<void>;
  /** Start the poweroff command (not awaited). */
  poweroff(command: string): void;
  logger: Logger;
  transition(from: DaemonState, to: DaemonState): void;
  blackout(event: BlackoutEvent): void;
  shutdown(): void;
  tickFailed(error: Error): void;
}

export class Supervisor {
  state: DaemonState = 'START';
  blackoutsTotal = 0;
  pollErrorsTotal = 0;
  private blackoutStart: number | null = null;
  private blackoutMsClosed = 0;
  /** In BLACKOUT: when the current run of readings above the limit began (null: no run). */
  private highSince: number | null = null;
  /** In BLACKOUT: readings in a row that were not above the limit (low or failed). */
  private notHigh = 0;
  /** In BLACKOUT: the controller said "still a blackout" while V_in read high; V_in no longer holds the shutdown back. */
  private vetoed = false;
  /** In SHUTDOWN: ticks in a row whose shutdown request (0x30) failed. */
  private requestFailures = 0;
  /** Replaced by restart(): a tick that started in an older life abandons itself. */
  private life: object = {};
  private readonly errors = new RepeatLimiter();
  private readonly armLog = new RepeatLimiter();

  constructor(
    private readonly port: SupervisorPort,
    public settings: SupervisorSettings,
  ) {}

  /** Seconds since the blackout in progress began, or null when there is none. */
  get blackoutElapsedS(): number | null {
    return this.blackoutStart !== null ? (this.port.now() - this.blackoutStart) / 1000 : null;
  }

  /** Seconds spent in BLACKOUT since start, including a blackout in progress. */
  get blackoutSecondsTotal(): number {
    const open = this.blackoutStart !== null ? this.port.now() - this.blackoutStart : 0;
    return (this.blackoutMsClosed + open) / 1000;
  }

  /**
   * Back to START, as a freshly booted daemon (simulated host reboot). A tick in flight belongs to
   * the old life: it abandons itself at its next await instead of acting on the state it read.
   */
  restart(): void {
    this.life = {};
    this.requestFailures = 0;
    this.closeBlackout();
    this.go('START');
  }

  async tick(): Promise<void> {
    const life = this.life;
    try {
      // A BLACKOUT tick may log a read failure and still decide; it then reports false.
      if ((await this.step(life)) !== false) this.errors.reset();
    } catch (err) {
      if (life !== this.life) return; // the failure belongs to a life that has ended
      this.failed(err as Error);
    }
  }

  private failed(error: Error): void {
    this.pollErrorsTotal++;
    const line = this.errors.next(`State machine error: ${error.message}`, this.port.now());
    if (line) this.port.logger.error(line);
    this.port.tickFailed(error);
  }

  /** V_in, with a full-scale reading turned into a read error. */
  private async readVin(): Promise<number> {
    const vin = await this.port.readVin();
    if (!(vin < VIN_FULL_SCALE_V)) {
      throw new ImplausibleReadingError(`Implausible input voltage reading (${fixedHalfEven(vin, 2)}V, full scale)`);
    }
    return vin;
  }

  private async step(life: object): Promise<boolean | void> {
    const p = this.port;
    const s = this.settings;
    const limit = Math.fround(s.blackoutVoltageLimitV);
    switch (this.state) {
      case 'START': {
        const line = this.armLog.next('Initializing watchdog', p.now());
        if (line) p.logger.info(line);
        await p.armWatchdog(s.watchdogMs ?? WATCHDOG_MS);
        if (life !== this.life) return;
        this.armLog.reset();
        this.go('OK');
        return;
      }
      case 'OK': {
        const vin = await this.readVin();
        if (life !== this.life) return;
        if (vin < limit) {
          this.blackoutStart = p.now();
          this.blackoutsTotal++;
          p.logger.warn(`Detected blackout (V_in = ${fixedHalfEven(vin, 2)}V < ${fixedHalfEven(limit, 2)}V)`);
          this.go('BLACKOUT');
          p.blackout({ phase: 'start', V_in: vin, time_limit: s.blackoutTimeLimitS, voltage_limit: s.blackoutVoltageLimitV });
        }
        return;
      }
      case 'BLACKOUT':
        return this.blackoutTick(life, limit);
      case 'SHUTDOWN':
        await this.shutdown(life);
        return;
      case 'DEAD':
        // With dry-run nothing reached the controller: keep feeding its watchdog.
        if (s.dryRun) await p.readVin();
        return;
    }
  }

  /**
   * One BLACKOUT tick. A failed or implausible read is no evidence of power: it is logged as a tick
   * error, and the time limit is still checked, so a broken bus cannot hold the shutdown back.
   */
  private async blackoutTick(life: object, limit: number): Promise<boolean> {
    const p = this.port;
    let vin = NaN; // a failed read is above no limit
    let readError: Error | null = null;
    try {
      vin = await this.readVin();
    } catch (err) {
      readError = err as Error;
    }
    if (life !== this.life) return true;
    const now = p.now();
    const elapsed = now - (this.blackoutStart ?? now);
    if (vin > limit) {
      this.notHigh = 0;
      this.highSince ??= now;
      if (now - this.highSince >= RESUME_CONFIRM_MS) {
        const controller = await p.readControllerState();
        if (life !== this.life) return true;
        // An unreadable state (null) is no veto: V_in has held long enough on its own.
        if (!CONTROLLER_BLACKOUT_STATES.has(controller)) {
          p.logger.info(`Power resumed (V_in = ${fixedHalfEven(vin, 2)}V)`);
          this.closeBlackout();
          this.go('OK');
          p.blackout({ phase: 'end', duration: (p.now() - now + elapsed) / 1000 });
          return true;
        }
        this.vetoed = true;
      }
    } else {
      // One reading that is not above the limit may be a glitch inside a real recovery; two in a
      // row end the run of high readings.
      if (++this.notHigh >= 2) this.highSince = null;
    }
    if (readError) this.failed(readError);
    // While readings above the limit are being confirmed, the shutdown waits for their verdict,
    // unless the controller has already said that the Pi still runs on the supercap.
    if ((this.highSince === null || this.vetoed) && elapsed > this.settings.blackoutTimeLimitS * 1000) {
      p.logger.warn(`Blacked out for ${fixedHalfEven(elapsed / 1000, 1)}s, initiating shutdown`);
      this.go('SHUTDOWN');
      p.blackout({ phase: 'shutdown', duration: elapsed / 1000 });
      await this.shutdown(life);
    }
    return readError === null;
  }

  private async shutdown(life: object): Promise<void> {
    const p = this.port;
    const cmd = this.settings.poweroffCommand;
    if (this.settings.dryRun) {
      p.logger.info(`Dry run: would request shutdown and execute ${cmd}`);
    } else {
      try {
        await p.requestShutdown();
        this.requestFailures = 0;
      } catch (err) {
        if (life !== this.life) throw err;
        // Retried on the next ticks; but a controller that cannot be reached must not keep the
        // OS running on the supercap until it is flat: after a second of failures, halt anyway
        // (the controller sees the host go down and cuts the rails itself).
        if (++this.requestFailures < SHUTDOWN_REQUEST_TICKS) throw err;
        p.logger.error(`Cannot request the shutdown from the controller (${(err as Error).message}); powering off anyway`);
        this.requestFailures = 0;
      }
      // A host that rebooted meanwhile must not be powered off by the old life's decision.
      if (life !== this.life) return;
      if (cmd) p.poweroff(cmd);
      else p.logger.warn('Dry-run mode: poweroff command is empty');
      p.shutdown();
    }
    this.closeBlackout();
    this.go('DEAD');
  }

  private closeBlackout(): void {
    if (this.blackoutStart !== null) this.blackoutMsClosed += this.port.now() - this.blackoutStart;
    this.blackoutStart = null;
    this.highSince = null;
    this.notHigh = 0;
    this.vetoed = false;
  }

  private go(to: DaemonState): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    this.port.logger.info(`State transition: ${from} -> ${to}`);
    this.port.transition(from, to);
  }
}
