// Physical model of the HALPI2 power path (docs/controller.md): input, supercap charge and
// discharge, input current, and the ADC's 10-sample averaging. Model parameters, not firmware.

import { CHARGE_TARGET_V, SUPERCAP_F } from '../halpi2.js';

export { CHARGE_TARGET_V, SUPERCAP_F };
export const HARD_LIMIT_V = 10.8;
export const CHARGE_POWER_W = 13;
export const CHARGE_CURRENT_A = 3;
export const VIN_PRESENT_V = 9.0;
const OVERHEAD_W = 0.2;
const IDLE_W = 0.1;
const ADC_WINDOW = 10;

export interface Loads {
  railsOn: boolean;
  /** Watts drawn by the Compute Module right now (0 when it is off or halted). */
  hostLoadW: number;
}

/** The mean of the last ADC_WINDOW samples, oldest first, in a ring (no array shifted per sample). */
class Average {
  private readonly samples = new Float64Array(ADC_WINDOW);
  /** Index of the oldest sample. */
  private head = 0;
  constructor(initial: number) {
    this.fill(initial);
  }
  fill(v: number): void {
    this.samples.fill(v);
    this.head = 0;
  }
  push(v: number): void {
    this.samples[this.head] = v;
    this.head = (this.head + 1) % ADC_WINDOW;
  }
  get value(): number {
    // Summed oldest first, as the samples came.
    let sum = 0;
    for (let i = 0; i < ADC_WINDOW; i++) sum += this.samples[(this.head + i) % ADC_WINDOW]!;
    return sum / ADC_WINDOW;
  }
}

export class Physics {
  /** Input voltage of the supply when connected. */
  vinSupply: number;
  /** False while the input is cut (`POST /sim/power {"on":false}`). */
  powerConnected = true;
  vcap: number;
  iinOverride: number | null = null;
  tMcu: number;
  tPcb: number;
  private chargingW = 0;
  private readonly avgVin: Average;
  private readonly avgVcap: Average;
  private readonly avgIin: Average;
  private readonly avgTmcu: Average;

  constructor(init: { vin: number; vcap: number; tMcu: number; tPcb: number }) {
    this.vinSupply = init.vin;
    this.vcap = init.vcap;
    this.tMcu = init.tMcu;
    this.tPcb = init.tPcb;
    this.avgVin = new Average(init.vin);
    this.avgVcap = new Average(init.vcap);
    this.avgIin = new Average(0);
    this.avgTmcu = new Average(init.tMcu);
  }

  /** Input voltage at the connector right now. */
  get vin(): number {
    return this.powerConnected ? this.vinSupply : 0;
  }

  get inputPresent(): boolean {
    return this.vin > VIN_PRESENT_V;
  }

  /** Instantaneous input current from the load model (or the injected override). */
  current(loads: Loads): number {
    if (this.iinOverride !== null) return this.iinOverride;
    if (!(this.vin > this.vcap) || this.vin <= 0) return 0;
    const watts = (loads.railsOn ? loads.hostLoadW : 0) + this.chargingW + OVERHEAD_W;
    return Math.min(watts / this.vin, 3.3);
  }

  /** Integrate `dtMs` of charge or discharge. */
  step(dtMs: number, loads: Loads): void {
    const dt = dtMs / 1000;
    this.chargingW = 0;
    if (this.inputPresent) {
      if (this.vcap < CHARGE_TARGET_V) {
        const v = Math.max(this.vcap, 0.1);
        const amps = Math.min(CHARGE_POWER_W / v, CHARGE_CURRENT_A);
        this.chargingW = amps * v;
        this.vcap = Math.min(CHARGE_TARGET_V, this.vcap + (amps * dt) / SUPERCAP_F);
      }
      return;
    }
    const watts = loads.railsOn ? loads.hostLoadW + OVERHEAD_W : IDLE_W;
    if (this.vcap > 0) {
      // dV/dt = −P / (C × V), integrated on energy so it stays stable near empty.
      const energy = 0.5 * SUPERCAP_F * this.vcap * this.vcap - watts * dt;
      this.vcap = energy > 0 ? Math.sqrt((2 * energy) / SUPERCAP_F) : 0;
    }
  }

  /** One ADC sample (every 20 ms). */
  sample(loads: Loads): void {
    this.avgVin.push(this.vin);
    this.avgVcap.push(Math.min(this.vcap, HARD_LIMIT_V + 1));
    this.avgIin.push(this.current(loads));
    this.avgTmcu.push(this.tMcu);
  }

  /** Set inputs so that the averages show them at once (tests need exact register values). */
  settle(loads: Loads): void {
    this.avgVin.fill(this.vin);
    this.avgVcap.fill(this.vcap);
    this.avgIin.fill(this.current(loads));
    this.avgTmcu.fill(this.tMcu);
  }

  /** Averaged VIN after the back-feed heuristic: 0 whenever VIN < VSCAP. */
  get measuredVin(): number {
    const vin = this.avgVin.value;
    return vin < this.avgVcap.value ? 0 : vin;
  }
  get measuredVcap(): number {
    return this.avgVcap.value;
  }
  get measuredIin(): number {
    return this.avgIin.value;
  }
  get measuredTmcu(): number {
    return this.avgTmcu.value;
  }
}
