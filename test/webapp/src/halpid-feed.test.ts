// halpid's events as the panel reads them (webapp/src/halpid-feed.ts), on a fake clock: the
// shutdown deadline from hello, blackout and supply; a panel opened mid-blackout or after the
// shutdown began; values that stop coming and come back.
import t from 'tap';
import { FakeClock } from '../../../engine/clock.js';
import { blackoutView, FORGET } from '../../../webapp/src/blackout-view.js';
import { fromValues, HalpidFeed, STALE_MS, usbOf } from '../../../webapp/src/halpid-feed.js';
import { EMPTY, type PanelData } from '../../../webapp/src/model.js';

function rig() {
  const clock = new FakeClock();
  const feed = new HalpidFeed(() => clock.wallNow());
  let data: PanelData = { ...EMPTY };
  const apply = (patch: Partial<PanelData>) => (data = { ...data, ...patch });
  return {
    clock,
    feed,
    apply,
    /** What the blackout view shows now, drawn afresh (as a page just opened). */
    view: () => blackoutView(data, FORGET, clock.wallNow()).texts,
    get data() {
      return data;
    },
  };
}

t.test('hello: the daemon, and a connected badge naming its version', async (t) => {
  const r = rig();
  const step = r.feed.hello({
    daemon_state: 'OK',
    daemon_version: '5.1.0',
    backend: 'simulator',
    blackout_voltage_limit: 9,
    blackout_time_limit: 600,
  });
  t.same(step, {
    patch: { daemonState: 'OK', daemonVersion: '5.1.0', simulator: true, voltageLimit: 9, shutdownAt: null },
    status: { connected: true, message: 'Connected to halpid 5.1.0' },
  });
  const bare = new HalpidFeed(() => 0).hello({ backend: 'i2c' });
  t.same(bare.status, { connected: true, message: 'Connected to halpid' }, 'no version, no trailing space');
  t.same(bare.patch, {
    daemonState: null,
    daemonVersion: null,
    simulator: false,
    voltageLimit: null,
    shutdownAt: null,
  });
});

t.test('a panel opened mid-blackout counts from what is left of the limit', async (t) => {
  const r = rig();
  const now = r.clock.wallNow();
  r.apply(
    r.feed.hello({ daemon_state: 'BLACKOUT', blackout_time_limit: 600, blackout_elapsed: 12.5, daemon_version: 'x' })
      .patch,
  );
  t.equal(r.data.shutdownAt, now + 587_500);
  t.match(r.view(), { title: 'Input power lost: running on the supercap', timer: '588', unit: 's to shutdown' });
  // The first supply count confirms it (within a second): the timer does not jump.
  r.apply(r.feed.supply({ shutdown_in: 587.2, charge: 90, runtime: 700, power: 4, current: 0.5 }));
  t.equal(r.data.shutdownAt, now + 587_200);
  await r.clock.advance(87_300);
  t.equal(r.view()!.timer, '500');
});

t.test('a panel opened after the limit passed, the shutdown not yet seen: 0, not a negative count', async (t) => {
  const r = rig();
  r.apply(r.feed.hello({ daemon_state: 'BLACKOUT', blackout_time_limit: 5, blackout_elapsed: 7.9 }).patch);
  t.equal(r.data.shutdownAt, r.clock.wallNow() - 2900);
  t.equal(r.view()!.timer, '0');
});

t.test('a panel opened after the shutdown began says so at once', async (t) => {
  const r = rig();
  r.apply(r.feed.hello({ daemon_state: 'SHUTDOWN', blackout_time_limit: 5 }).patch);
  t.match(r.view(), { title: 'Shutting down after input power loss', timer: '0', unit: 's: shutting down' });
  r.apply(r.feed.supply({ shutdown_in: null, shutting_down: true, charge: 12, runtime: 0, power: 5, current: 0.7 }));
  t.match(r.view(), { timer: '0', runtime: '0', charge: '12', power: '5.0', current: '0.70' });
});

t.test('a blackout: start, counts, then the shutdown', async (t) => {
  const r = rig();
  r.apply(r.feed.hello({ daemon_state: 'OK', blackout_time_limit: 8 }).patch);
  r.apply(r.feed.state({ daemon_state: 'BLACKOUT', controller_state: 'OperationalSolo' }));
  t.same(r.data.state, 'OperationalSolo');
  const start = r.clock.wallNow();
  r.apply(r.feed.blackout({ phase: 'start', time_limit: 8 }));
  t.equal(r.data.shutdownAt, start + 8000);
  t.equal(r.data.shuttingDown, false);
  t.equal(r.view()!.timer, '8');
  // A count that arrived late does not hold the deadline back; one a second off is new.
  await r.clock.advance(1000);
  r.apply(r.feed.supply({ shutdown_in: 7.4 }));
  t.equal(r.data.shutdownAt, start + 8000, 'a count 400 ms late: the earlier deadline stays');
  r.apply(r.feed.supply({ shutdown_in: 6.6 }));
  t.equal(r.data.shutdownAt, start + 7600, 'a sooner one moves it');
  t.notOk('shuttingDown' in r.feed.supply({ shutdown_in: 6 }), 'no shutting_down: the state is left as it was');
  r.apply(r.feed.supply({ shutdown_in: 30 }));
  t.equal(r.data.shutdownAt, r.clock.wallNow() + 30_000, 'a second or more off: a new deadline');
  r.apply(r.feed.blackout({ phase: 'shutdown' }));
  t.equal(r.data.shutdownAt, null);
  t.equal(r.data.shuttingDown, true);
  t.equal(r.view()!.title, 'Shutting down after input power loss');
});

t.test('the time limit: from the blackout event, else from hello, else halpid’s 5 s', async (t) => {
  const fresh = rig();
  t.equal(fresh.feed.blackout({ phase: 'start' }).shutdownAt, fresh.clock.wallNow() + 5000);
  const r = rig();
  r.feed.hello({ blackout_time_limit: 12 });
  t.equal(r.feed.blackout({ phase: 'start' }).shutdownAt, r.clock.wallNow() + 12_000);
  r.feed.blackout({ phase: 'end' });
  r.feed.hello({});
  await r.clock.advance(60_000);
  t.equal(r.feed.blackout({ phase: 'start' }).shutdownAt, r.clock.wallNow() + 12_000, 'a hello without it keeps it');
  r.feed.blackout({ phase: 'end' });
  await r.clock.advance(60_000);
  t.equal(r.feed.blackout({ phase: 'start', time_limit: 3 }).shutdownAt, r.clock.wallNow() + 3000);
});

t.test('the power returns: no deadline, not shutting down', async (t) => {
  const r = rig();
  r.apply(r.feed.blackout({ phase: 'start', time_limit: 5 }));
  r.apply({ shuttingDown: true });
  t.same(r.feed.blackout({ phase: 'end' }), { shutdownAt: null, shuttingDown: false });
  t.same(r.feed.state({ daemon_state: 'OK', controller_state: 'OperationalCoOp' }), {
    daemonState: 'OK',
    state: 'OperationalCoOp',
    shuttingDown: false,
  });
  t.same(r.feed.state({ daemon_state: 'BLACKOUT' }), { daemonState: 'BLACKOUT', state: null });
  t.same(r.feed.supply({ shutdown_in: null, shutting_down: false }), {
    supply: { charge: null, runtime: null, power: null, current: null },
    shuttingDown: false,
    shutdownAt: null,
  });
});

t.test('values stop coming: after 5 s the readings go and the badge says why; they return', async (t) => {
  const r = rig();
  r.feed.hello({ daemon_version: '5.1.0' });
  const first = r.feed.values({ V_in: 12.2 });
  t.equal(first.reread, true, 'the first values: read the settings and USB ports');
  t.equal(first.status, undefined, 'the badge already says connected');
  t.equal(r.feed.rereadPending, false);
  t.equal(r.feed.values({ V_in: 12.3 }).reread, false, 'not with every value');
  await r.clock.advance(STALE_MS);
  t.equal(r.feed.tick(), null, '5 s is not yet silent');
  await r.clock.advance(1);
  const silent = r.feed.tick()!;
  t.same(silent.status, { connected: false, message: 'No values from the controller' });
  t.same(silent.patch, {
    V_in: null,
    V_cap: null,
    I_in: null,
    T_mcu: null,
    T_pcb: null,
    state: null,
    usb: null,
    supply: null,
    shutdownAt: null,
  });
  t.equal(r.feed.rereadPending, true, 'a reading begun before is out of date');
  await r.clock.advance(1000);
  t.equal(r.feed.tick(), null, 'said once');
  const back = r.feed.values({ V_in: 12.1 });
  t.same(back.status, { connected: true, message: 'Connected to halpid 5.1.0' });
  t.equal(back.reread, true, 'read again what the silence cleared');
  t.equal(r.feed.values({ V_in: 12.1 }).status, undefined);
  await r.clock.advance(STALE_MS);
  t.equal(r.feed.tick(), null, 'the clock runs from the last values');
});

t.test('a panel opened while the controller is silent says so after 5 s too', async (t) => {
  const r = rig();
  await r.clock.advance(STALE_MS);
  t.equal(r.feed.tick(), null, 'not before');
  await r.clock.advance(1);
  t.equal(r.feed.tick()?.status?.message, 'No values from the controller');
  t.same(r.feed.values({}).status, { connected: true, message: 'Connected to halpid' }, 'before any hello');
});

t.test('a silent blackout: the deadline goes with the readings', async (t) => {
  const r = rig();
  r.apply(r.feed.blackout({ phase: 'start', time_limit: 600 }));
  await r.clock.advance(STALE_MS + 1);
  r.apply(r.feed.tick()!.patch);
  t.equal(r.data.shutdownAt, null);
  r.apply(r.feed.supply({ shutdown_in: 590 }));
  t.equal(r.data.shutdownAt, r.clock.wallNow() + 590_000, 'the next count is taken as it is');
});

t.test('the controller does not answer: the banner, and the settings read again after', async (t) => {
  const r = rig();
  r.feed.values({});
  t.same(r.feed.controller({ reachable: false, power_cycle_at: 1234, error: 'EREMOTEIO' }), {
    controllerDown: { powerCycleAt: 1234, error: 'EREMOTEIO' },
  });
  t.equal(r.feed.rereadPending, true);
  t.same(r.feed.controller({ reachable: false }), { controllerDown: { powerCycleAt: null, error: null } });
  t.same(r.feed.controller({ reachable: true }), { controllerDown: null });
  t.equal(r.feed.values({}).reread, true);
  t.same(r.feed.controller({}), { controllerDown: null }, 'not said to be down: up');
  t.equal(r.feed.rereadPending, false);
});

t.test('the stream breaks', async (t) => {
  t.same(new HalpidFeed(() => 0).lost(), { connected: false, message: 'Lost the connection to halpid; reconnecting…' });
});

t.test('values: dialect 5 and 4 names, and nothing of the wrong type', async (t) => {
  t.same(
    fromValues({
      V_in: 12.2,
      V_cap: 10.2,
      I_in: 0.35,
      T_mcu: 307.9,
      T_pcb: 303.6,
      state: 'OperationalCoOp',
      watchdog_timeout: 10,
      watchdog_enabled: true,
      watchdog_elapsed: 0.5,
      '5v_output_enabled': false,
      daemon_version: '5.1.0',
      hardware_version: 'N/A',
      firmware_version: '3.3.1',
      device_id: 'e661',
    }),
    {
      V_in: 12.2,
      V_cap: 10.2,
      I_in: 0.35,
      T_mcu: 307.9,
      T_pcb: 303.6,
      state: 'OperationalCoOp',
      watchdogTimeout: 10,
      watchdogEnabled: true,
      watchdogElapsed: 0.5,
      output5v: false,
      daemonVersion: '5.1.0',
      hardwareVersion: 'N/A',
      firmwareVersion: '3.3.1',
      deviceId: 'e661',
    },
  );
  t.equal(fromValues({ V_supercap: 9.5 }).V_cap, 9.5, 'dialect 4 says V_supercap');
  const wrong = fromValues({ V_in: '12', state: 3, watchdog_enabled: 'true', '5v_output_enabled': 1 });
  t.same([wrong.V_in, wrong.state, wrong.watchdogEnabled, wrong.output5v], [null, null, null, null]);
  t.same(usbOf({ usb0: true, usb1: false, usb2: 'true', usb3: true }), [true, false, false, true]);
  t.same(usbOf({ usb0: false, usb1: true, usb2: true, usb3: 'on' }), [false, true, true, false]);
});
