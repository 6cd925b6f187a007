// The UPS variables of a HALPI2 (docs/nut.md), from the engine's latest snapshot.
//
// battery.charge is the supercap's usable energy as a share of a full charge: the energy of a
// capacitor grows with V², and the controller cuts the power at the solo power-off threshold, so
//   charge = (V² − V_cut²) / (V_full² − V_cut²) × 100, clamped to 0–100,
// with V_cut the controller's solo power-off threshold and V_full = 10.25 V, the voltage the
// HALPI2's charger holds the supercap at.
// battery.runtime is the time left on the supercap as the daemon will use it: on input power, the
// blackout time limit (a cut now would last that long before the shutdown); during a blackout,
// what is left of the limit, or less when the supercap's measured discharge (the slope of V²)
// says it will reach the cut-off sooner.

// ups.status LB means "a primary may shut down now": it is decided from the supercap alone, when
// its measured discharge says it reaches the cut-off within LB_RUNTIME_S, not from the blackout
// time limit (the power may still return before the limit: halpid's own decision shows as FSD).
// FSD set by a primary is cleared when the blackout ends, so that ups.status does not stay
// "FSD OB" on line power; set on line power, it shows as "FSD OL" until the next blackout ends.

import { STATUS_FALLBACK, type Engine } from '../engine.js';
import { CHARGE_TARGET_V } from '../halpi2.js';
import { VERSION } from '../version.js';

export const V_FULL = CHARGE_TARGET_V;
/** LB when the supercap would reach the cut-off this soon: the time a secondary needs to shut down. */
export const LB_RUNTIME_S = 20;

export interface UpsState {
  fsd: boolean;
  /** (time s, V_cap) during the current blackout, for the discharge slope. */
  samples: Array<[number, number]>;
  cutoff: number;
}

export function upsState(): UpsState {
  return { fsd: false, samples: [], cutoff: 5.5 };
}

export const charge = (vcap: number, cutoff: number): number =>
  Math.max(0, Math.min(100, ((vcap ** 2 - cutoff ** 2) / (V_FULL ** 2 - cutoff ** 2)) * 100));

/** The variables now; null when the measurements are older than `staleMs`. */
export function upsVariables(engine: Engine, st: UpsState, staleMs = 5000): Map<string, string> | null {
  const last = engine.lastMeasurements;
  if (!last || engine.clock.wallNow() - last.wall > staleMs) return null;
  const m = last.values;
  const s = engine.status;
  const now = engine.clock.now() / 1000;
  const state = engine.state;
  const limit = engine.settings.blackoutTimeLimitS;
  const elapsed = engine.supervisor.blackoutElapsedS;
  // Discharge samples only during a blackout.
  if (state === 'BLACKOUT') {
    if (!st.samples.length || now - st.samples.at(-1)![0] >= 0.5) st.samples.push([now, m.V_cap]);
    if (st.samples.length > 120) st.samples.shift();
  } else st.samples = [];
  let runtime = limit;
  /** Seconds until the supercap reaches the cut-off at the measured discharge; null: unknown. */
  let capRuntime: number | null = null;
  if (state === 'BLACKOUT' && elapsed !== null) {
    runtime = Math.max(0, limit - elapsed);
    const [first, lastS] = [st.samples[0], st.samples.at(-1)];
    if (first && lastS && lastS[0] - first[0] >= 1) {
      const slope = (lastS[1] ** 2 - first[1] ** 2) / (lastS[0] - first[0]); // V²/s, negative while discharging
      if (slope < 0) capRuntime = Math.max(0, (m.V_cap ** 2 - st.cutoff ** 2) / -slope);
      if (capRuntime !== null) runtime = Math.min(runtime, capRuntime);
    }
  } else if (state === 'SHUTDOWN' || state === 'DEAD') runtime = 0;
  const flags: string[] = [];
  // halpid's own shutdown is FSD OB LB. A primary's FSD is put before what is true, as upsd does:
  // set on line power (upsmon -c fsd) it must not claim the HALPI2 is on its supercap.
  const shuttingDown = state === 'SHUTDOWN' || (state === 'DEAD' && m.V_in < engine.settings.blackoutVoltageLimitV);
  if (st.fsd || shuttingDown) flags.push('FSD');
  if (state === 'BLACKOUT' || shuttingDown) flags.push('OB');
  else flags.push('OL');
  if (shuttingDown || (state === 'BLACKOUT' && capRuntime !== null && capRuntime <= LB_RUNTIME_S)) flags.push('LB');
  const f = (x: number, d: number) => x.toFixed(d);
  const vars = new Map([
    ['ups.status', flags.join(' ')],
    ['input.voltage', f(m.V_in, 2)],
    ['input.current', f(m.I_in, 3)],
    ['battery.voltage', f(m.V_cap, 2)],
    ['battery.charge', f(charge(m.V_cap, st.cutoff), 0)],
    ['battery.runtime', f(runtime, 0)],
    ['battery.runtime.low', String(LB_RUNTIME_S)],
    ['ups.temperature', f(m.T_pcb - 273.15, 1)],
    ['device.mfr', 'Hat Labs'],
    ['device.model', 'HALPI2'],
    ['device.type', 'ups'],
    ['ups.mfr', 'Hat Labs'],
    ['ups.model', 'HALPI2'],
    ['driver.name', 'halpid'],
    ['driver.version', VERSION],
  ]);
  // The identity only once read: never a placeholder (a failed read leaves the fallback).
  if (s.deviceId !== undefined && s.deviceId !== STATUS_FALLBACK.deviceId) vars.set('device.serial', s.deviceId);
  if (s.firmwareVersion !== undefined && s.firmwareVersion !== STATUS_FALLBACK.firmwareVersion)
    vars.set('ups.firmware', s.firmwareVersion);
  return vars;
}
