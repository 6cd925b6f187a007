// Test rig: an Engine on a simulated controller with a fake clock; actions recorded, never executed.
import type { Bus } from '../../engine/bus.js';
import { FakeClock, type Clock } from '../../engine/clock.js';
import { Engine, type EngineOptions } from '../../engine/engine.js';
import type { Logger } from '../../engine/log.js';
import type { ReachabilityEvent } from '../../engine/reachability.js';
import { SimulatedController, type SimulatorOptions } from '../../engine/simulator/controller.js';
import type { SupervisorSettings } from '../../engine/supervisor.js';

export interface Recorded {
  poweroff: Array<{ t: number; command: string }>;
  rtcwake: number[];
  logs: Array<{ level: 'info' | 'warn' | 'error'; message: string; t: number }>;
}

export function engineRig(
  opts: {
    sim?: Partial<SimulatorOptions>;
    settings?: Partial<SupervisorSettings>;
    engine?: Partial<EngineOptions>;
    /** Halt the simulated host when poweroff runs (as halpid --simulate does). */
    haltOnPoweroff?: boolean;
    clock?: FakeClock;
    /** The bus the engine talks to, over the simulator (the simulator itself by default). */
    bus?: (sim: SimulatedController) => Bus;
  } = {},
) {
  const clock = opts.clock ?? new FakeClock();
  const sim = new SimulatedController({
    clock,
    sectorEraseMs: 0,
    blockProgramMs: 0,
    swapMs: 0,
    hostGated: true,
    ...opts.sim,
  });
  const rec: Recorded = { poweroff: [], rtcwake: [], logs: [] };
  const logger: Logger = {
    info: (message) => rec.logs.push({ level: 'info', message, t: clock.now() }),
    warn: (message) => rec.logs.push({ level: 'warn', message, t: clock.now() }),
    error: (message) => rec.logs.push({ level: 'error', message, t: clock.now() }),
  };
  const engine = new Engine({
    bus: opts.bus?.(sim) ?? sim,
    simulator: sim,
    backend: 'simulator',
    clock,
    logger,
    settings: {
      blackoutTimeLimitS: 5,
      blackoutVoltageLimitV: 9,
      dryRun: false,
      poweroffCommand: 'harmless-poweroff',
      ...opts.settings,
    },
    actions: {
      poweroff: (command) => {
        rec.poweroff.push({ t: clock.now(), command });
        if (opts.haltOnPoweroff !== false) sim.haltHost();
      },
      rtcwake: async (s) => {
        rec.rtcwake.push(s);
        sim.setRtcAlarm(s);
      },
    },
    ...opts.engine,
  });
  const states: Array<{ t: number; state: string }> = [];
  engine.on('state', (s) => {
    if (states.at(-1)?.state !== s.daemon_state) states.push({ t: clock.now(), state: s.daemon_state });
  });
  const when = (state: string) => states.find((s) => s.state === state)?.t;
  /** Stop the engine while simulated time moves (its retries sleep on the fake clock). */
  const stop = async () => {
    const done = engine.stop();
    await clock.advance(200);
    return done;
  };
  return { clock, sim, engine, rec, states, when, stop };
}

/** The clock's time at each of the supervisor's ticks from now on. */
export function tickTimes(engine: Engine, clock: Clock): number[] {
  const ticks: number[] = [];
  const tick = engine.supervisor.tick.bind(engine.supervisor);
  engine.supervisor.tick = () => {
    ticks.push(clock.now());
    return tick();
  };
  return ticks;
}

/** The engine's `controller` events (reachability) from now on, each with the clock's time. */
export function controllerEvents(engine: Engine, clock: Clock): Array<ReachabilityEvent & { t: number }> {
  const events: Array<ReachabilityEvent & { t: number }> = [];
  engine.on('controller', (ev) => events.push({ ...ev, t: clock.now() }));
  return events;
}
