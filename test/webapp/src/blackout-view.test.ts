// The blackout view as the skipper reads it (webapp/src/blackout-view.ts): the timer to the
// shutdown, counting down on the browser's clock between the host's counts, never below 0; the
// supercap's charge, runtime and power; the shutdown once begun; and the controller banner.
import t from 'tap';
import { FakeClock } from '../../../engine/clock.js';
import {
  blackoutView,
  controllerBanner,
  FORGET,
  onSupercap,
  secondsTo,
  shuttingDown,
  type Memory,
} from '../../../webapp/src/blackout-view.js';
import { EMPTY, type PanelData } from '../../../webapp/src/model.js';

const RUNNING = 'Input power lost: running on the supercap';
const SHUTTING = 'Shutting down after input power loss';

/** The view redrawn as main.ts does (every 250 ms and on every patch), on a fake clock. */
function panel(clock: FakeClock) {
  let mem: Memory = FORGET;
  let data: PanelData = { ...EMPTY };
  return {
    set(patch: Partial<PanelData>) {
      data = { ...data, ...patch };
    },
    draw() {
      const v = blackoutView(data, mem, clock.wallNow());
      mem = v.mem;
      return v.texts;
    },
  };
}

t.test('on input power: no blackout view, and nothing remembered', async (t) => {
  const clock = new FakeClock();
  const p = panel(clock);
  p.set({ daemonState: 'OK', supply: { charge: 97, runtime: 40, power: null, current: null } });
  t.equal(p.draw(), null);
  t.same(blackoutView({ ...EMPTY, daemonState: 'OK' }, { deadline: 5, runtime: null }, 0).mem, FORGET);
  t.notOk(onSupercap({ ...EMPTY, daemonState: 'START' }));
});

t.test('a power cut: the timer counts down second by second, to 0 and never below', async (t) => {
  const clock = new FakeClock();
  const p = panel(clock);
  const cut = clock.wallNow();
  p.set({ daemonState: 'BLACKOUT', shutdownAt: cut + 8000 });
  t.same(p.draw(), {
    title: RUNNING,
    timer: '8',
    unit: 's to shutdown',
    charge: '—',
    runtime: '—',
    power: '—',
    current: '—',
  });
  const shown: string[] = [];
  for (let i = 0; i < 44; i++) {
    await clock.advance(250);
    const timer = p.draw()!.timer;
    if (shown.at(-1) !== timer) shown.push(timer);
  }
  t.same(shown, ['8', '7', '6', '5', '4', '3', '2', '1', '0'], 'each second once, then 0 after the deadline');
  t.equal(p.draw()!.title, RUNNING, 'still running on the supercap until the host says the shutdown began');
});

t.test('whole seconds rounded up: 7.2 s left shows 8', async (t) => {
  t.equal(secondsTo(10_000, 2_800), 8, '7.2 s left is "8"');
  t.equal(secondsTo(10_000, 3_000), 7, 'exactly 7 s is "7"');
  t.equal(secondsTo(10_000, 9_999), 1);
  t.equal(secondsTo(10_000, 10_000), 0);
  t.equal(secondsTo(10_000, 12_500), 0, 'a deadline 2.5 s past: 0, not -2');
});

t.test('the count ends before the state says so (Signal K): the last deadline holds', async (t) => {
  const clock = new FakeClock();
  const p = panel(clock);
  p.set({ shutdownAt: clock.wallNow() + 3000 });
  t.equal(p.draw()!.timer, '3', 'a deadline alone puts the view up');
  p.set({ daemonState: 'BLACKOUT' });
  await clock.advance(1000);
  p.set({ shutdownAt: null });
  t.equal(p.draw()!.timer, '2', 'not "—": the deadline held runs on');
  await clock.advance(5000);
  t.equal(p.draw()!.timer, '0');
});

t.test('in a blackout with no count yet: a dash, not a number', async (t) => {
  const p = panel(new FakeClock());
  p.set({ daemonState: 'BLACKOUT' });
  t.equal(p.draw()!.timer, '—');
});

t.test('the next blackout starts from its own deadline, not the last one', async (t) => {
  const clock = new FakeClock();
  const p = panel(clock);
  p.set({ daemonState: 'BLACKOUT', shutdownAt: clock.wallNow() + 5000 });
  t.equal(p.draw()!.timer, '5');
  p.set({ daemonState: 'OK', shutdownAt: null });
  t.equal(p.draw(), null, 'the power returned');
  await clock.advance(60_000);
  p.set({ daemonState: 'BLACKOUT' });
  t.equal(p.draw()!.timer, '—', 'the old deadline is forgotten');
});

t.test('the supercap: charge, runtime, power and current as the host sends them', async (t) => {
  const clock = new FakeClock();
  const p = panel(clock);
  p.set({
    daemonState: 'BLACKOUT',
    shutdownAt: clock.wallNow() + 30_000,
    supply: { charge: 86.6, runtime: 2, power: 7.25, current: 0.8349 },
  });
  t.match(p.draw(), { charge: '87', runtime: '2', power: '7.3', current: '0.83' });
  // Between two counts the runtime runs down as the timer does.
  await clock.advance(700);
  t.equal(p.draw()!.runtime, '2', '1.3 s left shows 2');
  await clock.advance(400);
  t.equal(p.draw()!.runtime, '1', '0.9 s left shows 1');
  await clock.advance(5000);
  t.equal(p.draw()!.runtime, '0', 'never below 0');
  // The same count again keeps its time; a new one starts again.
  p.set({ supply: { charge: 80, runtime: 2, power: 7, current: 0.8 } });
  t.equal(p.draw()!.runtime, '0', 'the same count, repeated, is not fresh');
  p.set({ supply: { charge: 80, runtime: 12.2, power: 7, current: 0.8 } });
  t.equal(p.draw()!.runtime, '13');
});

t.test('the shutdown began: the view says so, the timer shows 0', async (t) => {
  const clock = new FakeClock();
  for (const patch of [{ shuttingDown: true }, { daemonState: 'SHUTDOWN' }] as Partial<PanelData>[]) {
    const p = panel(clock);
    p.set({ ...patch, supply: { charge: 3, runtime: 0, power: null, current: null } });
    t.ok(shuttingDown({ ...EMPTY, ...patch }));
    t.same(
      p.draw(),
      {
        title: SHUTTING,
        timer: '0',
        unit: 's: shutting down',
        charge: '3',
        runtime: '0',
        power: '—',
        current: '—',
      },
      `opened after the shutdown began (${JSON.stringify(patch)})`,
    );
  }
  // Shutting down with time left on the deadline: the timer still says 0, and the runtime is
  // the last count, no longer run down (the computer is going whatever the supercap holds).
  const p = panel(clock);
  p.set({
    daemonState: 'BLACKOUT',
    shutdownAt: clock.wallNow() + 4000,
    supply: { charge: 9, runtime: 6.5, power: 3, current: 0.4 },
  });
  t.equal(p.draw()!.runtime, '7');
  await clock.advance(2000);
  p.set({ daemonState: 'SHUTDOWN' });
  t.match(p.draw(), { timer: '0', runtime: '7', title: SHUTTING });
  t.notOk(shuttingDown({ ...EMPTY, daemonState: 'BLACKOUT' }));
  t.notOk(shuttingDown({ ...EMPTY, daemonState: 'DEAD' }));
});

t.test('the controller banner: why, and when its watchdog power-cycles the computer', async (t) => {
  t.equal(controllerBanner(null, 0), null);
  t.equal(
    controllerBanner({ powerCycleAt: 12_500, error: 'EREMOTEIO' }, 2_000),
    'The controller is not answering (EREMOTEIO): its watchdog will power-cycle this computer in 11 s',
  );
  t.equal(
    controllerBanner({ powerCycleAt: 1_000, error: null }, 2_000),
    'The controller is not answering: its watchdog will power-cycle this computer in 0 s',
    'a moment past: 0, not -1',
  );
  t.equal(controllerBanner({ powerCycleAt: null, error: 'timeout' }, 0), 'The controller is not answering (timeout)');
  t.equal(controllerBanner({ powerCycleAt: null, error: null }, 0), 'The controller is not answering');
});
