// The daemon's blackout state machine (docs/configuration.md):
// START → OK ⇄ BLACKOUT → SHUTDOWN → DEAD on a fixed 100 ms tick. Comparisons are strict and in
// float32; the blackout timer runs on the monotonic clock and survives failed ticks. The decision
// rules against bad readings are in docs/blackout.md: a full-scale V_in is a read error, power
// counts as resumed only after it has held (and the controller agrees), and a single reading never
// flips the decision either way.

import { SUPERCAP_F } from './halpi2.js';
import { fixedHalfEven, RepeatLimiter, type Logger } from './log.js';
import { decodeIin, decodeVcap, decodeVin, type PowerState } from './registers.js';

export const DAEMON_STATES = ['START', 'OK', 'BLACKOUT', 'SHUTDOWN', 'DEAD'] as const;
export type DaemonState = (typeof DAEMON_STATES)[number];

export const TICK_MS = 100;
export const WATCHDOG_MS = 10_000;

/** V_in must stay above the limit this long before power counts as resumed. */
export const RESUME_CONFIRM_MS = 300;

/**
 * Past the limit, a tick still waiting on the bus gets this long to report before the shutdown
 * goes ahead on the readings already in hand (docs/blackout.md, "the poweroff never waits").
 */
export const DEADLINE_GRACE_MS = 200;

/** Past the limit, a confirmation of returning power gets at most this long before the shutdown. */
export const CONFIRM_BOUND_MS = 800;

/** How long the shutdown request (0x30) may take before its failure is reported; it never holds the poweroff. */
export const SHUTDOWN_REQUEST_BOUND_MS = 10_000;

/**
 * Input current that only a returning supply can make flow (the sensor reads 0 A with the input
 * cut). It shows a return about 20 ms after it happens, where the averaged V_in needs ≈180 ms.
 */
export const IIN_POWER_A = 0.1;

/** The controller averages I_in over 200 ms: before that, a blackout's I_in still shows the supply. */
export const IIN_SETTLE_MS = 200;

export { SUPERCAP_F };

/**
 * The supercap voltage below which the computer cannot be counted on: the controller's solo
 * power-off threshold default (0x14), above the 5.0 V at which the 5 V rail browns out.
 */
export const SUPERCAP_CUTOFF_V = 5.5;

/** Seconds of supercap a clean halt is given: shut down while at least this much is left. */
export const HALT_RESERVE_S = 10;

/** The load assumed before a discharge has been measured (W): above the CM5's usual draw. */
export const ASSUMED_LOAD_W = 8;

/** The discharge rate is measured over at least this window (ms) and at most twice it. */
const RATE_WINDOW_MS = 1000;

/**
 * The largest V_in the controller can report (raw 0xFFFF, ≈39.9994 V). The HALPI2's input is rated
 * far below it, so a reading there is a saturated or corrupted read (0xFF bytes), not a voltage.
 */
export const VIN_FULL_SCALE_V = decodeVin(0xffff);

/** Full-scale I_in (raw 0xFFFF): a corrupted read, no evidence of current. */
const IIN_FULL_SCALE_A = decodeIin(0xffff);
/** Full-scale V_cap (raw 0xFFFF, 11 V): above the bank's 10.8 V hard limit, so a corrupted read. */
const VCAP_FULL_SCALE_V = decodeVcap(0xffff);

/** Controller states in which the Pi runs on the supercap (or is being cut): power has not resumed. */
const CONTROLLER_BLACKOUT_STATES: ReadonlySet<PowerState | null> = new Set<PowerState | null>([
  'BlackoutSolo',
  'BlackoutCoOp',
  'BlackoutShutdown',
  'PoweredDownBlackout',
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
  /** Seconds of supercap kept for a clean halt (default HALT_RESERVE_S). */
  haltReserveS?: number;
}

export type BlackoutEvent =
  | { phase: 'start'; V_in: number; time_limit: number; voltage_limit: number }
  | { phase: 'end'; duration: number }
  | { phase: 'shutdown'; duration: number };

/** One BLACKOUT tick's readings: V_in decides; I_in and V_cap are null when their read failed. */
export interface BlackoutReading {
  V_in: number;
  I_in: number | null;
  V_cap: number | null;
}

/** What the supervisor needs from the engine. */
export interface SupervisorPort {
  now(): number;
  /** A one-shot timer on the engine's clock; returns its cancel function. */
  timer(ms: number, fn: () => void): () => void;
  armWatchdog(ms: number): Promise<void>;
  /**
   * V_in for this tick (the engine reads the full block instead when it is due): the number when
   * the bus answered at once (the simulator), else its promise.
   */
  readVin(): number | Promise<number>;
  /** V_in, I_in and V_cap for a BLACKOUT tick; rejects only when V_in cannot be read. */
  readBlackout(): Promise<BlackoutReading>;
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
  /** In BLACKOUT: when the current run of readings showing power began (null: no run). */
  private highSince: number | null = null;
  /** In BLACKOUT: readings in a row that showed no power (low, or failed). */
  private notHigh = 0;
  /** In BLACKOUT: the controller said "still a blackout" while V_in read high; V_in no longer holds the shutdown back. */
  private vetoed = false;
  /** In BLACKOUT: (time, V_cap²) of the last two seconds, for the discharge rate. */
  private vcapSamples: Array<{ t: number; v2: number }> = [];
  /** SHUTDOWN, then DEAD, came from a blackout (the only way the supervisor shuts down). */
  private afterBlackout = false;
  /** The supercap's discharge rate in V²/s as last measured (kept across blackouts), or null. */
  private dischargeRate: number | null = null;
  /** The last V_cap read in this blackout (for the faces' runtime estimate). */
  private lastVcap: number | null = null;
  /** Cancels the deadline (or the grace after it) of the blackout in progress. */
  private cancelDeadline: (() => void) | null = null;
  /** The tick running now: the grid and the deadline never run two at once. */
  private inFlight: Promise<void> | null = null;
  /** Replaced by restart() and by a shutdown: a tick that started in an older life abandons itself. */
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
   * In a blackout, the seconds the supercap will still carry the computer above the cut-off at the
   * measured (or assumed) discharge rate; null outside a blackout or before V_cap was read.
   */
  get supercapSecondsLeft(): number | null {
    if (this.state !== 'BLACKOUT' || this.lastVcap === null) return null;
    return this.secondsLeft(this.lastVcap);
  }

  /**
   * In a blackout, the power (W) the supercap delivers at its measured discharge rate (energy
   * C·V²/2, so P = C/2 · dV²/dt); null outside a blackout or before a discharge was measured.
   */
  /** The shutdown after a blackout has begun (SHUTDOWN, or DEAD after it), until the daemon starts again. */
  get shutdownAfterBlackout(): boolean {
    return this.afterBlackout;
  }

  get supercapPowerW(): number | null {
    const samples = this.vcapSamples;
    // Measured in this blackout (its samples span the rate window), not kept from the last one.
    if (this.state !== 'BLACKOUT' || samples.length < 2 || samples.at(-1)!.t - samples[0]!.t < RATE_WINDOW_MS)
      return null;
    return this.dischargeRate === null ? null : (SUPERCAP_F * this.dischargeRate) / 2;
  }

  /**
   * Back to START, as a freshly booted daemon (simulated host reboot). A tick in flight belongs to
   * the old life: it abandons itself at its next await instead of acting on the state it read.
   */
  restart(): void {
    this.newLife();
    this.closeBlackout();
    this.go('START');
  }

  /** Stop the deadline timers (the engine is stopping). */
  dispose(): void {
    this.clearDeadline();
  }

  /**
   * One tick; a tick asked for while one runs (grid and deadline meeting) joins it. An OK tick
   * whose V_in the bus answered at once (the simulator) is decided within the call and returns
   * nothing: ten ticks a second then make no promise.
   */
  tick(): Promise<void> | undefined {
    if (this.inFlight) return this.inFlight;
    const life = this.life;
    const vin = this.state === 'OK' ? this.port.readVin() : null;
    if (typeof vin === 'number') {
      try {
        this.okReading(life, vin);
        this.errors.reset();
      } catch (err) {
        this.failed(err as Error);
      }
      return;
    }
    const run = this.runTick(life, vin).finally(() => {
      if (this.inFlight === run) this.inFlight = null;
    });
    this.inFlight = run;
    return run;
  }

  /** A tick that waits: on the OK tick's V_in (`vin`), or on what its state's step reads. */
  private async runTick(life: object, vin: Promise<number> | null): Promise<void> {
    try {
      // A BLACKOUT tick may log a read failure and still decide; it then reports false.
      if ((vin ? this.okReading(life, await vin) : await this.step(life)) !== false) this.errors.reset();
    } catch (err) {
      if (life !== this.life) return; // the failure belongs to a life that has ended
      this.failed(err as Error);
    }
  }

  private newLife(): void {
    this.life = {};
    this.inFlight = null;
    this.clearDeadline();
  }

  private failed(error: Error): void {
    this.pollErrorsTotal++;
    const line = this.errors.next(`State machine error: ${error.message}`, this.port.now());
    if (line) this.port.logger.error(line);
    this.port.tickFailed(error);
  }

  /** V_in, with a full-scale reading turned into a read error. */
  private checkVin(vin: number): number {
    if (!(vin < VIN_FULL_SCALE_V)) {
      throw new ImplausibleReadingError(`Implausible input voltage reading (${fixedHalfEven(vin, 2)}V, full scale)`);
    }
    return vin;
  }

  /** An OK tick's V_in: below the voltage limit, a blackout starts. Throws on an implausible reading. */
  private okReading(life: object, raw: number): void {
    const vin = this.checkVin(raw);
    if (life !== this.life) return;
    const p = this.port;
    const s = this.settings;
    const limit = Math.fround(s.blackoutVoltageLimitV);
    if (vin < limit) {
      this.blackoutStart = p.now();
      this.blackoutsTotal++;
      this.vcapSamples = [];
      this.lastVcap = null;
      p.logger.warn(`Detected blackout (V_in = ${fixedHalfEven(vin, 2)}V < ${fixedHalfEven(limit, 2)}V)`);
      this.go('BLACKOUT');
      this.armDeadline(life);
      p.blackout({
        phase: 'start',
        V_in: vin,
        time_limit: s.blackoutTimeLimitS,
        voltage_limit: s.blackoutVoltageLimitV,
      });
    }
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
      // OK: tick() reads V_in itself, and okReading decides.
      case 'BLACKOUT':
        return this.blackoutTick(life, limit);
      case 'SHUTDOWN':
        // Transient: the shutdown moves on to DEAD at once and waits for nothing.
        return;
      case 'DEAD':
        // With dry-run nothing reached the controller: keep feeding its watchdog.
        if (s.dryRun) await p.readVin();
        return;
    }
  }

  private get limitMs(): number {
    return this.settings.blackoutTimeLimitS * 1000;
  }

  /** A timer for the moment the limit passes, so the shutdown does not wait for the next tick. */
  private armDeadline(life: object): void {
    this.clearDeadline();
    if (this.blackoutStart === null) return;
    // Strictly past the limit; a timer that fires early re-arms itself for the rest.
    const wait = Math.max(1, this.blackoutStart + this.limitMs - this.port.now() + 1);
    this.cancelDeadline = this.port.timer(wait, () => this.onDeadline(life));
  }

  private clearDeadline(): void {
    this.cancelDeadline?.();
    this.cancelDeadline = null;
  }

  private onDeadline(life: object): void {
    this.cancelDeadline = null;
    if (life !== this.life || this.state !== 'BLACKOUT' || this.blackoutStart === null) return;
    if (this.port.now() - this.blackoutStart <= this.limitMs) return this.armDeadline(life);
    // A fresh reading decides at once; if the bus is busy (or hung), the readings in hand decide
    // after a short grace.
    if (!this.inFlight) void this.tick();
    if (this.state !== 'BLACKOUT' || life !== this.life) return;
    this.cancelDeadline = this.port.timer(DEADLINE_GRACE_MS, () => this.onGraceOver(life));
  }

  private onGraceOver(life: object): void {
    this.cancelDeadline = null;
    if (life !== this.life || this.state !== 'BLACKOUT' || this.blackoutStart === null) return;
    const past = this.port.now() - this.blackoutStart - this.limitMs;
    const confirming = this.highSince !== null && !this.vetoed;
    if (confirming && past < CONFIRM_BOUND_MS) {
      this.cancelDeadline = this.port.timer(CONFIRM_BOUND_MS - past, () => this.onGraceOver(life));
      return;
    }
    const elapsed = this.port.now() - this.blackoutStart;
    const why = confirming ? 'the return of the power was not confirmed in time' : 'the bus has not answered';
    this.port.logger.error(
      `Blacked out for ${fixedHalfEven(elapsed / 1000, 1)}s and ${why}: initiating shutdown without waiting for the bus`,
    );
    this.beginShutdown(elapsed);
  }

  /**
   * One BLACKOUT tick. A failed or implausible read is no evidence of power: it is logged as a tick
   * error, and the limits are still checked, so a broken bus cannot hold the shutdown back.
   */
  private async blackoutTick(life: object, limit: number): Promise<boolean> {
    const p = this.port;
    let reading: BlackoutReading | null = null;
    let readError: Error | null = null;
    try {
      reading = await p.readBlackout();
      this.checkVin(reading.V_in);
    } catch (err) {
      readError = err as Error;
    }
    if (life !== this.life || this.state !== 'BLACKOUT') return true;
    const now = p.now();
    const start = this.blackoutStart ?? now;
    const elapsed = now - start;
    const vin = readError ? NaN : reading!.V_in; // a failed read is above no limit
    // Current flowing in is power coming back, seen long before the averaged V_in shows it; but
    // only once the blackout's first 200 ms have left the controller's I_in average.
    const iin = reading?.I_in ?? null;
    const current = iin !== null && iin >= IIN_POWER_A && iin < IIN_FULL_SCALE_A && elapsed >= IIN_SETTLE_MS;
    if (vin > limit || current) {
      this.notHigh = 0;
      this.highSince ??= now;
      if (vin > limit && now - this.highSince >= RESUME_CONFIRM_MS) {
        const controller = await p.readControllerState();
        if (life !== this.life || this.state !== 'BLACKOUT') return true;
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
    const settled = this.highSince === null || this.vetoed;
    // The supercap decides too: whatever the time limit, halt while it can still carry the halt.
    const vcap = reading?.V_cap ?? null;
    if (vcap !== null && vcap < VCAP_FULL_SCALE_V) {
      this.noteVcap(now, vcap);
      const left = this.secondsLeft(vcap);
      if (settled && left <= (this.settings.haltReserveS ?? HALT_RESERVE_S)) {
        const watts = (this.rate() * SUPERCAP_F) / 2;
        p.logger.warn(
          `Supercap at ${fixedHalfEven(vcap, 2)}V carries the computer for about ${fixedHalfEven(Math.max(0, left), 1)}s ` +
            `more (${fixedHalfEven(SUPERCAP_CUTOFF_V, 2)}V cut-off, ${fixedHalfEven(watts, 1)}W), initiating shutdown`,
        );
        this.beginShutdown(elapsed);
        return readError === null;
      }
    }
    // While readings showing power are being confirmed, the shutdown waits for their verdict,
    // unless the controller has already said that the Pi still runs on the supercap.
    if (settled && elapsed > this.limitMs) {
      p.logger.warn(`Blacked out for ${fixedHalfEven(elapsed / 1000, 1)}s, initiating shutdown`);
      this.beginShutdown(elapsed);
    }
    return readError === null;
  }

  /** Keep two seconds of V_cap² and measure the discharge over at least one. */
  private noteVcap(now: number, vcap: number): void {
    this.lastVcap = vcap;
    const v2 = vcap * vcap;
    const samples = this.vcapSamples;
    samples.push({ t: now, v2 });
    while (samples.length > 2 && now - samples[1]!.t >= RATE_WINDOW_MS) samples.shift();
    const oldest = samples[0]!;
    const span = now - oldest.t;
    if (span >= RATE_WINDOW_MS && oldest.v2 > v2) this.dischargeRate = ((oldest.v2 - v2) * 1000) / span;
  }

  /** V²/s: as measured, else as assumed for ASSUMED_LOAD_W. */
  private rate(): number {
    return this.dischargeRate ?? (2 * ASSUMED_LOAD_W) / SUPERCAP_F;
  }

  private secondsLeft(vcap: number): number {
    return (vcap * vcap - SUPERCAP_CUTOFF_V * SUPERCAP_CUTOFF_V) / this.rate();
  }

  /**
   * SHUTDOWN: the poweroff command starts now, and the shutdown request (0x30) goes to the
   * controller alongside; the poweroff never waits for the bus. Then DEAD.
   */
  private beginShutdown(elapsedMs: number): void {
    const p = this.port;
    const cmd = this.settings.poweroffCommand;
    this.go('SHUTDOWN');
    p.blackout({ phase: 'shutdown', duration: elapsedMs / 1000 });
    // Ticks of the blackout still waiting on the bus must not act on it any more.
    this.newLife();
    this.closeBlackout();
    if (this.settings.dryRun) {
      p.logger.info(`Dry run: would request shutdown and execute ${cmd}`);
    } else {
      if (cmd) p.poweroff(cmd);
      else p.logger.warn('Dry-run mode: poweroff command is empty');
      p.shutdown();
      void this.requestControllerShutdown();
    }
    this.closeBlackout();
    this.go('DEAD');
  }

  /**
   * 0x30, retried until it is taken or its bound passes; failures are reported at once. The
   * poweroff is already running. A restart (the host booted again) ends the attempts.
   */
  private async requestControllerShutdown(): Promise<void> {
    const p = this.port;
    const life = this.life;
    const until = p.now() + SHUTDOWN_REQUEST_BOUND_MS;
    let failures = 0;
    let overdue = false;
    const cancel = p.timer(SHUTDOWN_REQUEST_BOUND_MS, () => {
      overdue = true;
      p.logger.error(
        `The controller has not taken the shutdown request within ${SHUTDOWN_REQUEST_BOUND_MS / 1000}s; the poweroff goes on without it`,
      );
    });
    try {
      for (;;) {
        try {
          await p.requestShutdown();
          if (failures > 0 && !overdue)
            p.logger.info(
              `The controller took the shutdown request after ${failures} failed attempt${failures === 1 ? '' : 's'}`,
            );
          return;
        } catch (err) {
          if (++failures === 1)
            p.logger.error(
              `Cannot request the shutdown from the controller (${(err as Error).message}); the poweroff goes on without it`,
            );
          if (overdue || life !== this.life || p.now() >= until) return;
          await new Promise<void>((resolve) => p.timer(TICK_MS, resolve));
          if (overdue || life !== this.life) return;
        }
      }
    } finally {
      cancel();
    }
  }

  private closeBlackout(): void {
    if (this.blackoutStart !== null) this.blackoutMsClosed += this.port.now() - this.blackoutStart;
    this.blackoutStart = null;
    this.highSince = null;
    this.notHigh = 0;
    this.vetoed = false;
    this.vcapSamples = [];
    this.lastVcap = null;
    this.clearDeadline();
  }

  private go(to: DaemonState): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    if (to === 'SHUTDOWN') this.afterBlackout = true;
    else if (to !== 'DEAD') this.afterBlackout = false;
    this.port.logger.info(`State transition: ${from} -> ${to}`);
    this.port.transition(from, to);
  }
}
