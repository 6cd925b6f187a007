// The daemon's blackout state machine (spec/daemon.md §5.3–5.4, §6):
// START → OK ⇄ BLACKOUT → SHUTDOWN → DEAD on a fixed 100 ms tick. Comparisons are strict and in
// float32; the blackout timer runs on the monotonic clock and survives failed ticks.

import { fixedHalfEven, RepeatLimiter, type Logger } from './log.js';

export const DAEMON_STATES = ['START', 'OK', 'BLACKOUT', 'SHUTDOWN', 'DEAD'] as const;
export type DaemonState = (typeof DAEMON_STATES)[number];

export const TICK_MS = 100;
export const WATCHDOG_MS = 10_000;

export interface SupervisorSettings {
  blackoutTimeLimitS: number;
  blackoutVoltageLimitV: number;
  dryRun: boolean;
  poweroffCommand: string;
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
  private readonly errors = new RepeatLimiter();
  private readonly armLog = new RepeatLimiter();

  constructor(
    private readonly port: SupervisorPort,
    public settings: SupervisorSettings,
  ) {}

  /** Seconds spent in BLACKOUT since start, including a blackout in progress. */
  get blackoutSecondsTotal(): number {
    const open = this.blackoutStart !== null ? this.port.now() - this.blackoutStart : 0;
    return (this.blackoutMsClosed + open) / 1000;
  }

  /** Back to START, as a freshly booted daemon (simulated host reboot). */
  restart(): void {
    this.closeBlackout();
    this.go('START');
  }

  async tick(): Promise<void> {
    try {
      await this.step();
      this.errors.reset();
    } catch (err) {
      const error = err as Error;
      this.pollErrorsTotal++;
      const line = this.errors.next(`State machine error: ${error.message}`, this.port.now());
      if (line) this.port.logger.error(line);
      this.port.tickFailed(error);
    }
  }

  private async step(): Promise<void> {
    const p = this.port;
    const s = this.settings;
    const limit = Math.fround(s.blackoutVoltageLimitV);
    switch (this.state) {
      case 'START': {
        const line = this.armLog.next('Initializing watchdog', p.now());
        if (line) p.logger.info(line);
        await p.armWatchdog(WATCHDOG_MS);
        this.armLog.reset();
        this.go('OK');
        return;
      }
      case 'OK': {
        const vin = await p.readVin();
        if (vin < limit) {
          this.blackoutStart = p.now();
          this.blackoutsTotal++;
          p.logger.warn(`Detected blackout (V_in = ${fixedHalfEven(vin, 2)}V < ${fixedHalfEven(limit, 2)}V)`);
          this.go('BLACKOUT');
          p.blackout({ phase: 'start', V_in: vin, time_limit: s.blackoutTimeLimitS, voltage_limit: s.blackoutVoltageLimitV });
        }
        return;
      }
      case 'BLACKOUT': {
        const vin = await p.readVin();
        const elapsed = p.now() - (this.blackoutStart ?? p.now());
        if (vin > limit) {
          p.logger.info(`Power resumed (V_in = ${fixedHalfEven(vin, 2)}V)`);
          this.closeBlackout();
          this.go('OK');
          p.blackout({ phase: 'end', duration: elapsed / 1000 });
        } else if (elapsed > s.blackoutTimeLimitS * 1000) {
          p.logger.warn(`Blacked out for ${fixedHalfEven(elapsed / 1000, 1)}s, initiating shutdown`);
          this.go('SHUTDOWN');
          p.blackout({ phase: 'shutdown', duration: elapsed / 1000 });
          await this.shutdown();
        }
        return;
      }
      case 'SHUTDOWN':
        await this.shutdown();
        return;
      case 'DEAD':
        // With dry-run nothing reached the controller: keep feeding its watchdog.
        if (s.dryRun) await p.readVin();
        return;
    }
  }

  private async shutdown(): Promise<void> {
    const p = this.port;
    const cmd = this.settings.poweroffCommand;
    if (this.settings.dryRun) {
      p.logger.info(`Dry run: would request shutdown and execute ${cmd}`);
    } else {
      await p.requestShutdown();
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
  }

  private go(to: DaemonState): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    this.port.logger.info(`State transition: ${from} -> ${to}`);
    this.port.transition(from, to);
  }
}
