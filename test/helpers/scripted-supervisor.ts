// A Supervisor on a scripted port and a FakeClock: every tick's readings and the controller's power
// state come from the test, so each rule of docs/blackout.md is pinned down tick by tick.
import { FakeClock } from '../../engine/clock.js';
import type { PowerState } from '../../engine/registers.js';
import {
  Supervisor,
  TICK_MS,
  type BlackoutEvent,
  type DaemonState,
  type SupervisorPort,
} from '../../engine/supervisor.js';

export type Reading = number | 'error';

export function scripted(opts: {
  vin: (t: number) => Reading;
  controller?: (t: number) => PowerState | null;
  /** I_in and V_cap in BLACKOUT ticks (default 0 A, V_cap unknown). */
  iin?: (t: number) => number | null;
  vcap?: (t: number) => number | null;
  limitS?: number;
  /** How many shutdown requests (0x30) fail before one succeeds (Infinity: never). */
  requestFailures?: number;
  /** How many watchdog arm writes fail before one succeeds. */
  armFailures?: number;
  /** The clock (default: a FakeClock whose timers fire on time). */
  clock?: FakeClock;
  /** V_in answered at once, as the simulator's bus does (a failed read still rejects). */
  readNow?: boolean;
}) {
  const clock = opts.clock ?? new FakeClock();
  const events: Array<BlackoutEvent & { t: number }> = [];
  const transitions: Array<{ t: number; to: DaemonState }> = [];
  const poweroffs: number[] = [];
  const logs: string[] = [];
  let controllerReads = 0;
  let requests = 0;
  let arms = 0;
  const failures: Error[] = [];
  const port: SupervisorPort = {
    now: () => clock.now(),
    timer: (ms, fn) => {
      const h = clock.setTimeout(fn, ms);
      return () => clock.clearTimeout(h);
    },
    armWatchdog: async () => {
      arms++;
      if (arms <= (opts.armFailures ?? 0)) throw new Error('Failed to write to register 0x12');
    },
    readVin: () => {
      const v = opts.vin(clock.now());
      if (v === 'error') return Promise.reject(new Error('Failed to read from register 0x20'));
      return opts.readNow ? v : Promise.resolve(v);
    },
    readBlackout: async () => {
      const v = opts.vin(clock.now());
      if (v === 'error') throw new Error('Failed to read from register 0x20');
      return { V_in: v, I_in: opts.iin?.(clock.now()) ?? 0, V_cap: opts.vcap?.(clock.now()) ?? null };
    },
    readControllerState: async () => {
      controllerReads++;
      return (opts.controller ?? (() => 'OperationalCoOp'))(clock.now());
    },
    requestShutdown: async () => {
      requests++;
      if (requests <= (opts.requestFailures ?? 0)) throw new Error('Failed to write to register 0x30');
    },
    poweroff: () => poweroffs.push(clock.now()),
    logger: {
      info: (m) => logs.push(String(m)),
      warn: (m) => logs.push(String(m)),
      error: (m) => logs.push(String(m)),
    },
    transition: (_from, to) => transitions.push({ t: clock.now(), to }),
    blackout: (ev) => events.push({ ...ev, t: clock.now() }),
    shutdown: () => {},
    tickFailed: (error) => failures.push(error),
  };
  const sup = new Supervisor(port, {
    blackoutTimeLimitS: opts.limitS ?? 5,
    blackoutVoltageLimitV: 9,
    dryRun: false,
    poweroffCommand: 'harmless-poweroff',
  });
  /** Tick at 0, 100, 200 … up to `untilMs` inclusive. */
  const run = async (untilMs: number): Promise<void> => {
    while (clock.now() <= untilMs) {
      void sup.tick(); // joins a tick still in flight (a hung bus), as the engine waits for it
      await clock.advance(TICK_MS);
    }
  };
  const at = (to: DaemonState) => transitions.find((x) => x.to === to)?.t;
  return {
    clock,
    sup,
    port,
    run,
    events,
    transitions,
    poweroffs,
    logs,
    at,
    controllerReads: () => controllerReads,
    requests: () => requests,
    failures,
  };
}
