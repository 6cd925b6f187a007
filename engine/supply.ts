// The supercap as a panel shows it (docs/api.md, event `supply`): its charge, the time it would
// carry the computer, and during a blackout the seconds to the daemon's shutdown and the power
// it delivers. Computed here once, from the supervisor, so halpid's event stream and the Signal K
// plugin say the same thing and no client parses a notification's text.

import type { Engine } from './engine.js';
import { charge } from './nut/variables.js';
import { HALT_RESERVE_S, SUPERCAP_CUTOFF_V } from './supervisor.js';

export interface Supply {
  /** Usable energy left, % of a full charge (as NUT's battery.charge); null before V_cap was read. */
  charge: number | null;
  /**
   * Seconds the supercap carries the computer as the daemon uses it: on input power the blackout
   * time limit; in a blackout what is left of it, or less when the measured discharge says so;
   * 0 once the shutdown began.
   */
  runtime: number | null;
  /**
   * In a blackout, the seconds until the daemon shuts the computer down: at the time limit, or
   * sooner when the supercap would keep less than the halt reserve; null otherwise.
   */
  shutdown_in: number | null;
  /** The shutdown after a blackout has begun (and the computer is halting or halted). */
  shutting_down: boolean;
  /** In a blackout, the power (W) and current (A) the supercap delivers, once measured; null otherwise. */
  power: number | null;
  current: number | null;
}

/** `cutoff`: the controller's solo power-off threshold when known (the supercap is empty there). */
export function supplyNow(engine: Engine, cutoff = SUPERCAP_CUTOFF_V): Supply {
  const vcap = engine.lastMeasurements?.values.V_cap ?? null;
  const state = engine.state;
  const sup = engine.supervisor;
  const limit = engine.settings.blackoutTimeLimitS;
  const elapsed = state === 'BLACKOUT' ? sup.blackoutElapsedS : null;
  const cap = elapsed === null ? null : sup.supercapSecondsLeft;
  const toLimit = elapsed === null ? null : Math.max(0, limit - elapsed);
  // The supervisor shuts down at the time limit, or sooner when only the halt reserve is left.
  const reserve = engine.settings.haltReserveS ?? HALT_RESERVE_S;
  const shutdownIn = toLimit === null ? null : cap === null ? toLimit : Math.max(0, Math.min(toLimit, cap - reserve));
  let runtime: number | null = limit;
  if (toLimit !== null) runtime = cap === null ? toLimit : Math.max(0, Math.min(toLimit, cap));
  else if (state === 'SHUTDOWN' || state === 'DEAD') runtime = 0;
  const power = sup.supercapPowerW;
  return {
    charge: vcap === null ? null : charge(vcap, cutoff),
    runtime,
    shutdown_in: shutdownIn,
    shutting_down: sup.shutdownAfterBlackout,
    power,
    current: power !== null && vcap !== null && vcap > 0 ? power / vcap : null,
  };
}
