// The simulated Compute Module (docs/controller.md): boots when powered, halts when its OS
// is told to, wakes from standby on its RTC alarm or the power button.

export type HostPhase = 'unpowered' | 'booting' | 'running' | 'halting' | 'halted';

export class HostModel {
  phase: HostPhase;
  loadW = 5;
  bootDelayS = 3;
  haltDelayS = 2;
  /** RTC alarm, Unix seconds, or null. */
  rtcAlarm: number | null = null;
  private dueAt: number | null = null;

  constructor(running: boolean) {
    this.phase = running ? 'running' : 'unpowered';
  }

  /** CM_ON: the Compute Module's 3.3 V rail, high while the OS runs (also while it halts). */
  get cmOn(): boolean {
    return this.phase === 'running' || this.phase === 'halting';
  }

  /** Watts drawn from the 5 V rail. */
  get drawW(): number {
    return this.phase === 'unpowered' || this.phase === 'halted' ? 0 : this.loadW;
  }

  /** Power arrived or left (rails switched, or PG_5V changed). */
  setPowered(powered: boolean, now: number): void {
    if (!powered) {
      this.phase = 'unpowered';
      this.dueAt = null;
    } else if (this.phase === 'unpowered') {
      this.boot(now);
    }
  }

  /** The OS is told to halt (poweroff, power-button press while running, double click). */
  halt(now: number): void {
    if (this.phase === 'running' || this.phase === 'booting') {
      this.phase = 'halting';
      this.dueAt = now + this.haltDelayS * 1000;
    }
  }

  /** A power-button press as the host sees it. */
  button(now: number): void {
    if (this.phase === 'running') this.halt(now);
    else if (this.phase === 'halted') this.boot(now);
  }

  /** Force CM_ON (PUT /sim/host {"cm_on":…}). */
  force(on: boolean, now: number, powered: boolean): void {
    this.dueAt = null;
    if (on) this.phase = powered ? 'running' : 'unpowered';
    else this.phase = powered ? 'halted' : 'unpowered';
    void now;
  }

  /** Advance to `now`; `wallS` is the wall clock in Unix seconds for the RTC alarm. */
  update(now: number, wallS: number): void {
    if (this.rtcAlarm !== null && wallS >= this.rtcAlarm) {
      this.rtcAlarm = null;
      if (this.phase === 'halted') this.boot(now);
    }
    if (this.dueAt !== null && now >= this.dueAt) {
      this.dueAt = null;
      if (this.phase === 'booting') this.phase = 'running';
      else if (this.phase === 'halting') this.phase = 'halted';
    }
  }

  private boot(now: number): void {
    this.phase = 'booting';
    this.dueAt = now + this.bootDelayS * 1000;
  }
}
