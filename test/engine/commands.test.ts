// The poweroff and rtcwake actions (engine/commands.ts): what is run, what is simulated, and the
// failure report the Signal K plugin turns into an emergency. Only harmless commands run here.
import t from 'tap';
import { commandActions } from '../../engine/commands.js';
import { FakeClock } from '../../engine/clock.js';
import type { Logger } from '../../engine/log.js';
import { SimulatedController } from '../../engine/simulator/controller.js';

const rig = (simulator?: SimulatedController) => {
  const lines: string[] = [];
  const logger: Logger = { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
  const failures: string[] = [];
  let failed: () => void = () => {};
  const nextFailure = new Promise<void>((r) => { failed = r; });
  const actions = commandActions({
    logger, simulator, settings: () => ({ rtcwake: 'rtcwake', simExecuteCommands: false }),
    onPoweroffFailure: (reason) => {
      failures.push(reason);
      failed();
    },
  });
  return { lines, failures, actions, nextFailure };
};

t.test('a poweroff command that exits non-zero is reported as a failure with its code', async (t) => {
  const { actions, failures, lines, nextFailure } = rig();
  actions.poweroff('echo going down; exit 3');
  await nextFailure;
  t.same(failures, ['exited with code 3']);
  t.match(lines, ['info Executing: echo going down; exit 3', 'info poweroff: going down', 'warn Poweroff command exited with code 3']);
});

t.test('a poweroff command that succeeds reports nothing', async (t) => {
  const { actions, failures, lines } = rig();
  actions.poweroff('true');
  const { setImmediate: later } = await import('node:timers/promises');
  while (!lines.includes('info Poweroff command exited with code 0')) await later();
  t.same(failures, []);
});

t.test('on the simulator, poweroff halts the simulated host and runs nothing', async (t) => {
  const clock = new FakeClock();
  const sim = new SimulatedController({ clock, start: 'host-running' });
  sim.start();
  t.teardown(() => sim.stop());
  const { actions, failures, lines } = rig(sim);
  actions.poweroff('harmless-poweroff');
  t.same(lines, ['info Simulator: not executing harmless-poweroff']);
  t.same(failures, []);
  t.equal(sim.snapshot().host.cm_on, true, 'still halting');
  await clock.advance((sim.snapshot().host.halt_delay_s + 1) * 1000);
  t.equal(sim.snapshot().host.cm_on, false, 'halted after its halt delay, as a real host does');
});
