// The publisher (plugin/publisher.ts) on a fake clock with a scripted source: what goes out on a
// snapshot, on a change, when the data goes stale and comes back, and on stop.
import t from 'tap';
import { FakeClock } from '../../engine/clock.js';
import { DEFAULT_OPTIONS, resolveOptions } from '../../plugin/options.js';
import { PATHS, type Model } from '../../plugin/paths.js';
import { DISCRETE_RESEND_MS, Publisher, type Delta } from '../../plugin/publisher.js';

const P = 'electrical.halpi';
const SNAP: Model = {
  V_in: 12,
  V_cap: 10,
  I_in: 0.5,
  T_mcu: 300,
  T_pcb: 299,
  state: 'OperationalCoOp',
  watchdog_elapsed: 0,
  watchdog_timeout: 60,
  watchdog_enabled: true,
  '5v_output_enabled': true,
  usb: { usb0: true, usb1: true, usb2: false, usb3: true },
  daemon_state: 'OK',
  daemon_version: '5.1.0',
  hardware_version: 'N/A',
  firmware_version: '3.3.1',
  device_id: 'e66164840bce7521',
};

function rig(config: Record<string, unknown> = {}) {
  const clock = new FakeClock();
  const deltas: Delta[] = [];
  const statuses: string[] = [];
  const errors: string[] = [];
  const { options } = resolveOptions(config);
  const pub = new Publisher(
    { handleMessage: (d) => deltas.push(d), setStatus: (s) => statuses.push(s), setError: (s) => errors.push(s) },
    options,
    clock,
    {
      mode: 'client',
      statusText: () => 'Connected to halpid 5.1.0 at /x',
      connectedText: () => 'Connected to halpid 5.1.0',
      staleText: (r) => `halpid not reachable at /x: ${r}`,
    },
  );
  const values = (from = 0) => deltas.slice(from).flatMap((d) => d.updates.flatMap((u) => u.values ?? []));
  const paths = (from = 0) => values(from).map((v) => v.path);
  const value = (path: string, from = 0) =>
    values(from)
      .filter((v) => v.path === path)
      .at(-1)?.value;
  /** Entries of a values list that are not a path and a value (the server would drop or choke on them). */
  const malformed = () =>
    deltas
      .flatMap((d) => d.updates.flatMap((u) => u.values ?? []))
      .filter((v) => typeof v !== 'object' || v === null || typeof v.path !== 'string' || !('value' in v));
  return { clock, deltas, statuses, errors, pub, values, paths, value, options, malformed };
}

t.test('the first snapshot sends everything, in one delta; later ones send measurements and changes', async (t) => {
  const r = rig();
  r.pub.begin();
  t.ok(r.deltas[0]!.updates[0]!.meta!.length > 20, 'metadata first');
  r.pub.snapshot(SNAP);
  t.equal(r.deltas.length, 2, 'one delta for the snapshot');
  for (const leaf of [
    'dcInputVoltage',
    'inputPower',
    'powerState',
    'usb.port2',
    'daemonState',
    'firmwareVersion',
    'mode',
  ]) {
    t.ok(r.paths(1).includes(`${P}.${leaf}`), leaf);
  }
  t.equal(r.value(`${P}.inputPower`), 6);
  t.same(r.value(`notifications.${P}.blackout`), { state: 'normal', method: [], message: 'HALPI2 input power OK' });
  t.same(r.value(`notifications.${P}.shutdown`), {
    state: 'normal',
    method: [],
    message: 'No HALPI2 shutdown in progress',
  });
  t.same(r.value(`notifications.${P}.connection`), {
    state: 'normal',
    method: [],
    message: 'Connected to halpid 5.1.0',
  });
  t.same(r.statuses, ['Connected to halpid 5.1.0 at /x']);
  await r.clock.advance(1000);
  r.pub.snapshot({ ...SNAP, V_in: 12.5, usb: { ...SNAP.usb!, usb2: true } });
  t.same(
    r.paths(2).sort(),
    [
      `${P}.dcInputVoltage`,
      `${P}.inputCurrent`,
      `${P}.inputPower`,
      `${P}.mcuTemperature`,
      `${P}.pcbTemperature`,
      `${P}.supercapVoltage`,
      `${P}.usb.port2`,
    ].sort(),
    'measurements and the one change',
  );
  // Discrete values are sent again every 60 s even when unchanged.
  const n0 = r.deltas.length;
  for (let s = 2; s < DISCRETE_RESEND_MS / 1000; s++) {
    // until t = 59 s
    await r.clock.advance(1000);
    r.pub.snapshot(SNAP);
  }
  t.notOk(r.paths(n0).includes(`${P}.powerState`), 'not within the minute');
  await r.clock.advance(1000);
  const n = r.deltas.length;
  r.pub.snapshot(SNAP);
  t.ok(r.paths(n).includes(`${P}.powerState`), 'resent after 60 s');
  t.notOk(r.paths(n).includes(`${P}.firmwareVersion`), 'identity is not');
  t.same(r.statuses, ['Connected to halpid 5.1.0 at /x'], 'the status is set once, not at every snapshot');
  // SNAP has no config and no supply: those paths are left out, never sent without a value.
  t.same(
    r.values().filter((v) => v.value === undefined),
    [],
    'no path without a value',
  );
  t.notOk(r.paths().includes(`${P}.config.ledBrightness`));
});

t.test(
  'stale: nulls once, the connection alert, the error status; data again: everything, normal, status',
  async (t) => {
    const r = rig({ staleTimeout: 5, pollInterval: 1000 });
    r.pub.begin();
    r.pub.snapshot(SNAP);
    r.pub.failure('connection refused (is halpid running?)');
    const before = r.deltas.length;
    await r.clock.advance(4999);
    t.equal(r.deltas.length, before, 'nothing before the stale timeout');
    await r.clock.advance(1);
    t.equal(r.value(`${P}.dcInputVoltage`, before), null);
    t.equal(r.value(`${P}.usb.port0`, before), null);
    t.equal(r.value(`${P}.powerState`, before), null);
    t.equal(r.value(`${P}.firmwareVersion`, before), undefined, 'identity is never set to null');
    const alert = 'halpid not reachable at /x: connection refused (is halpid running?)';
    t.same(r.value(`notifications.${P}.connection`, before), { state: 'alert', method: ['visual'], message: alert });
    t.same(r.errors, [alert]);
    t.ok(r.pub.isStale);
    const after = r.deltas.length;
    await r.clock.advance(30_000);
    t.equal(r.deltas.length, after, 'the nulls are sent once');
    r.pub.change({ usb: SNAP.usb }); // a change while stale is not a snapshot: still stale
    t.equal(r.deltas.length, after);
    r.pub.snapshot(SNAP);
    t.equal(r.value(`${P}.powerState`, after), 'OperationalCoOp', 'discrete values again');
    t.equal(r.value(`${P}.firmwareVersion`, after), '3.3.1', 'identity again after a reconnection');
    t.same(r.value(`notifications.${P}.connection`, after), {
      state: 'normal',
      method: [],
      message: 'Connected to halpid 5.1.0',
    });
    t.equal(r.statuses.at(-1), 'Connected to halpid 5.1.0 at /x');
    t.notOk(r.pub.isStale);
  },
);

t.test(
  'state changes while stale are kept: after a shutdown and a restart, the emergency ends with the first values',
  async (t) => {
    const r = rig();
    r.pub.begin();
    r.pub.snapshot(SNAP);
    r.pub.change({ daemon_state: 'BLACKOUT', state: 'BlackoutCoOp' });
    r.pub.blackout({ phase: 'start', time_limit: 5 });
    r.pub.change({ daemon_state: 'SHUTDOWN' });
    r.pub.blackout({ phase: 'shutdown' });
    r.pub.change({ daemon_state: 'DEAD' });
    t.equal((r.value(`notifications.${P}.blackout`) as { state?: string } | undefined)?.state, 'emergency');
    await r.clock.advance(5000); // the host halts: no values
    t.equal(r.value(`${P}.dcInputVoltage`), null, 'stale');
    const mark = r.deltas.length;
    // halpid restarts: its state events come before its first values.
    r.pub.change({ daemon_state: 'START', state: 'BlackoutCoOp' });
    r.pub.change({ daemon_state: 'OK', state: 'OperationalCoOp' });
    t.equal(r.deltas.length, mark, 'nothing published among the nulls');
    r.pub.snapshot({ ...SNAP, daemon_state: undefined, state: undefined });
    t.equal(r.value(`${P}.daemonState`, mark), 'OK');
    t.equal(r.value(`${P}.powerState`, mark), 'OperationalCoOp');
    t.same(r.value(`notifications.${P}.blackout`, mark), {
      state: 'normal',
      method: [],
      message: 'HALPI2 input power OK',
    });
  },
);

t.test('the stale timeout is at least three poll intervals', async (t) => {
  const r = rig({ staleTimeout: 1, pollInterval: 2000 });
  r.pub.begin();
  r.pub.snapshot(SNAP);
  await r.clock.advance(5999);
  t.notOk(r.pub.isStale);
  await r.clock.advance(1);
  t.ok(r.pub.isStale);
});

t.test(
  'blackout: alarm at once, countdown at most once a second, emergency after the limit, normal when power returns',
  async (t) => {
    const r = rig();
    r.pub.begin();
    r.pub.snapshot(SNAP);
    const N = `notifications.${P}.blackout`;
    r.pub.blackout({ phase: 'start', time_limit: 5 });
    r.pub.change({ state: 'BlackoutCoOp', daemon_state: 'BLACKOUT' });
    t.same(r.value(N), {
      state: 'alarm',
      method: ['visual', 'sound'],
      message: 'HALPI2 input power lost, running on supercap (V_cap 10.00 V, shutdown in 5 s)',
    });
    const count = () => r.values().filter((v) => v.path === N).length;
    const c = count();
    for (let i = 0; i < 5; i++) {
      await r.clock.advance(200);
      r.pub.snapshot({ ...SNAP, V_in: 0, V_cap: 9.9 - i * 0.1, state: 'BlackoutCoOp', daemon_state: 'BLACKOUT' });
    }
    t.equal(count(), c + 1, 'one refresh in the first second');
    t.equal(
      (r.value(N) as { message: string }).message,
      'HALPI2 input power lost, running on supercap (V_cap 9.50 V, shutdown in 4 s)',
    );
    r.pub.blackout({ phase: 'shutdown' });
    r.pub.change({ daemon_state: 'SHUTDOWN' });
    t.same(r.value(N), {
      state: 'emergency',
      method: ['visual', 'sound'],
      message: 'HALPI2 is shutting down after input power loss',
    });
    r.pub.change({ daemon_state: 'DEAD' });
    t.equal((r.value(N) as { state: string }).state, 'emergency', 'DEAD after a blackout stays an emergency');
  },
);

t.test('shutdown notification: manual shutdown, standby, a failed poweroff command', async (t) => {
  const r = rig();
  r.pub.begin();
  r.pub.snapshot(SNAP);
  const N = `notifications.${P}.shutdown`;
  r.pub.change({ state: 'ManualShutdown' });
  t.same(r.value(N), { state: 'alert', method: ['visual'], message: 'HALPI2 shutdown requested' });
  r.pub.change({ state: 'EnteringStandby' });
  t.same(r.value(N), { state: 'alert', method: ['visual'], message: 'HALPI2 entering standby' });
  r.pub.poweroffFailed('exited with code 1');
  t.same(r.value(N), {
    state: 'emergency',
    method: ['visual', 'sound'],
    message: 'HALPI2 poweroff command failed: exited with code 1; power will be cut within 60 s',
  });
});

t.test('a notification switched off is never published', async (t) => {
  const r = rig({ notifications: { blackout: false, connection: false } });
  r.pub.begin();
  r.pub.snapshot(SNAP);
  r.pub.change({ state: 'BlackoutCoOp' });
  await r.clock.advance(10_000);
  r.pub.stop();
  t.notOk(r.paths().some((p) => p === `notifications.${P}.blackout` || p === `notifications.${P}.connection`));
  t.ok(r.paths().includes(`notifications.${P}.shutdown`));
  t.same(r.malformed(), [], 'every value sent is a path and a value');
});

t.test('zones follow the controller thresholds read from /config', async (t) => {
  const r = rig();
  r.pub.begin();
  r.pub.snapshot({
    ...SNAP,
    config: {
      watchdog_timeout: 60,
      power_on_threshold: 8.5,
      solo_power_off_threshold: 6,
      led_brightness: 40,
      auto_restart: true,
      solo_depleting_timeout: 10,
    },
  });
  const metas = r.deltas.flatMap((d) => d.updates.flatMap((u) => u.meta ?? []));
  const cap = metas.filter((m) => m.path === `${P}.supercapVoltage`).at(-1)!.value as { zones: unknown[] };
  t.same(cap.zones, [
    { upper: 6, state: 'emergency', message: 'HALPI2 supercap nearly empty' },
    { lower: 6, upper: 8.5, state: 'warn', message: 'HALPI2 supercap below the power-on threshold' },
    { lower: 10.6, state: 'alarm', message: 'HALPI2 supercap over-voltage' },
  ]);
  const temp = metas.filter((m) => m.path === `${P}.mcuTemperature`).at(-1)!.value as { zones: unknown[] };
  t.same(temp.zones, [
    { lower: 75 + 273.15, upper: 85 + 273.15, state: 'warn', message: 'HALPI2 controller temperature high' },
    { lower: 85 + 273.15, state: 'alarm', message: 'HALPI2 controller temperature too high' },
  ]);
  t.equal(r.value(`${P}.config.ledBrightness`), 40 / 255);
  t.equal(DEFAULT_OPTIONS.notifications.temperatureZones, true);
});

t.test('metadata: through setDefaultMetadata where the server has it (2.30+), else one meta delta', async (t) => {
  const calls: Array<[string, Record<string, unknown>]> = [];
  const deltas: Delta[] = [];
  const { options } = resolveOptions({});
  const src = { mode: 'engine' as const, statusText: () => 's', connectedText: () => 'c', staleText: (r: string) => r };
  const pub = new Publisher(
    {
      handleMessage: (d) => deltas.push(d),
      setStatus: () => {},
      setError: () => {},
      setDefaultMetadata: async (path, value) => {
        calls.push([path, value]);
        return true;
      },
    },
    options,
    new FakeClock(),
    src,
  );
  pub.begin();
  t.equal(deltas.length, 0, 'no meta delta');
  t.ok(calls.some(([p, v]) => p === `${P}.dcInputVoltage` && v.units === 'V'));
  t.equal(calls.length, PATHS.length, 'one call per path');
  pub.stop();
  const old = rig();
  old.pub.begin();
  t.equal(old.deltas[0]!.updates[0]!.meta!.length, PATHS.length, 'a single meta delta on older servers');
});

t.test(
  'a controller that stops answering raises the connection alarm with the power-cycle time; its return clears it',
  async (t) => {
    const r = rig();
    r.pub.begin();
    r.pub.snapshot(SNAP);
    const at = r.clock.wallNow() + 14_000;
    r.pub.controller({ reachable: false, powerCycleAt: at, error: 'Remote I/O error' });
    t.same(r.value(`notifications.${P}.connection`), {
      state: 'alarm',
      method: ['visual', 'sound'],
      message:
        'HALPI2 controller not answering (Remote I/O error): its watchdog will power-cycle the computer in about 14 s',
    });
    // Stale data meanwhile does not hide the alarm.
    await r.clock.advance(60_000);
    t.equal((r.value(`notifications.${P}.connection`) as { state: string }).state, 'alarm');
    r.pub.controller({ reachable: true, powerCycleAt: null });
    t.equal(
      (r.value(`notifications.${P}.connection`) as { state: string }).state,
      'alert',
      'back to what is true now: stale data',
    );
    r.pub.snapshot(SNAP);
    t.same(r.value(`notifications.${P}.connection`), {
      state: 'normal',
      method: [],
      message: 'Connected to halpid 5.1.0',
    });
    r.pub.controller({ reachable: false, powerCycleAt: null });
    t.match(r.value(`notifications.${P}.connection`), {
      state: 'alarm',
      message: 'HALPI2 controller not answering: nothing will power-cycle the computer',
    });
    // The data going stale then changes nothing in the alarm: it is not sent again (a client would sound it again).
    const alarms = r.values().filter((v) => v.path === `notifications.${P}.connection`).length;
    await r.clock.advance(60_000);
    t.ok(r.pub.isStale);
    t.equal(r.values().filter((v) => v.path === `notifications.${P}.connection`).length, alarms, 'not resent');
  },
);

t.test("the controller's own BlackoutShutdown raises the emergency, whatever the daemon says", async (t) => {
  // The controller decides on its own (solo, or the daemon's view lagging): no SHUTDOWN from the daemon.
  for (const daemon_state of ['OK', 'BLACKOUT']) {
    const r = rig();
    r.pub.begin();
    r.pub.snapshot({ ...SNAP, daemon_state });
    t.equal(
      (r.value(`notifications.${P}.blackout`) as { state?: string } | undefined)?.state,
      daemon_state === 'OK' ? 'normal' : 'alarm',
      `before: ${daemon_state}`,
    );
    r.pub.change({ state: 'BlackoutShutdown' });
    t.same(
      r.value(`notifications.${P}.blackout`),
      {
        state: 'emergency',
        method: ['visual', 'sound'],
        message: 'HALPI2 is shutting down after input power loss',
      },
      `daemon ${daemon_state}, controller BlackoutShutdown`,
    );
  }
});

t.test('after stop nothing more is published, whatever the source still reports', async (t) => {
  const r = rig();
  r.pub.begin();
  r.pub.snapshot({ ...SNAP, daemon_state: 'SHUTDOWN' }); // a shutdown by hand stops the server
  r.pub.stop();
  const n = r.deltas.length;
  r.pub.stop();
  r.pub.blackout({ phase: 'shutdown' });
  r.pub.snapshot({ ...SNAP, V_in: 0 });
  r.pub.change({ state: 'BlackoutShutdown' });
  r.pub.blackout({ phase: 'start', time_limit: 5 });
  r.pub.poweroffFailed('exited with code 1');
  r.pub.controller({ reachable: false, powerCycleAt: null });
  r.pub.supply({ charge: 50, runtime: 10, shutdown_in: 4, shutting_down: true, power: 2, current: 0.2 });
  await r.clock.advance(60_000);
  t.equal(r.deltas.length, n, 'the stop values stay the last word');
  t.same(r.errors, [], 'no stale error after stop');
});

t.test('the blackout notification: solo blackouts, no known numbers, a countdown past its end', async (t) => {
  const N = `notifications.${P}.blackout`;
  const lost = 'HALPI2 input power lost, running on supercap';
  const r = rig();
  r.pub.begin();
  r.pub.change({ usb: SNAP.usb });
  t.same(
    r.values(),
    [
      { path: `${P}.usb.port0`, value: true },
      { path: `${P}.usb.port1`, value: true },
      { path: `${P}.usb.port2`, value: false },
      { path: `${P}.usb.port3`, value: true },
      { path: `${P}.mode`, value: 'client' },
      {
        path: `notifications.${P}.shutdown`,
        value: { state: 'normal', method: [], message: 'No HALPI2 shutdown in progress' },
      },
    ],
    'the ports, the mode and the shutdown notification; no blackout notification before a power or daemon state is known',
  );
  r.pub.change({ state: 'BlackoutSolo' });
  t.same(r.value(N), { state: 'alarm', method: ['visual', 'sound'], message: lost }, 'no V_cap, no countdown');
  const d = rig();
  d.pub.begin();
  d.pub.change({ daemon_state: 'BLACKOUT' });
  t.equal((d.value(N) as { message: string }).message, lost, "the daemon's BLACKOUT alone");
  d.pub.blackout({ phase: 'start', time_limit: 5 });
  const blackoutSnap = (V_cap: number) => d.pub.snapshot({ ...SNAP, V_in: 0, V_cap, daemon_state: 'BLACKOUT' });
  for (let s = 1; s <= 7; s++) {
    await d.clock.advance(1000);
    blackoutSnap(9.2);
  }
  t.equal((d.value(N) as { message: string }).message, `${lost} (V_cap 9.20 V, shutdown in 0 s)`, 'never negative');
  d.pub.blackout({ phase: 'start' });
  await d.clock.advance(1000);
  blackoutSnap(9.0);
  t.equal((d.value(N) as { message: string }).message, `${lost} (V_cap 9.00 V)`, 'no time limit: no countdown');
});

t.test('a blackout that ended, then a shutdown by hand: no blackout emergency', async (t) => {
  const N = `notifications.${P}.blackout`;
  const r = rig();
  r.pub.begin();
  r.pub.snapshot(SNAP);
  r.pub.change({ daemon_state: 'BLACKOUT', state: 'BlackoutCoOp' });
  r.pub.blackout({ phase: 'start', time_limit: 5 });
  r.pub.blackout({ phase: 'end' });
  r.pub.change({ daemon_state: 'SHUTDOWN', state: 'ManualShutdown' });
  t.same(r.value(N), { state: 'normal', method: [], message: 'HALPI2 input power OK' });
  // After a blackout shutdown, a restarted daemon (START) that is then shut down by hand.
  const s = rig();
  s.pub.begin();
  s.pub.snapshot(SNAP);
  s.pub.blackout({ phase: 'start', time_limit: 5 });
  s.pub.blackout({ phase: 'shutdown' });
  s.pub.change({ daemon_state: 'DEAD', state: 'OperationalCoOp' });
  t.equal((s.value(N) as { state: string }).state, 'emergency');
  s.pub.change({ daemon_state: 'START' });
  s.pub.change({ daemon_state: 'SHUTDOWN', state: 'ManualShutdown' });
  t.equal((s.value(N) as { state: string }).state, 'normal', 'START ends the blackout shutdown');
  // A new blackout after a blackout shutdown starts afresh.
  const b = rig();
  b.pub.begin();
  b.pub.snapshot(SNAP);
  b.pub.blackout({ phase: 'shutdown' });
  b.pub.blackout({ phase: 'start', time_limit: 5 });
  b.pub.change({ daemon_state: 'SHUTDOWN', state: 'ManualShutdown' });
  t.equal((b.value(N) as { state: string }).state, 'normal', 'the new blackout has not ended in a shutdown');
});

t.test('zones: the metadata is sent again only when a threshold changes', async (t) => {
  const r = rig();
  r.pub.begin();
  const metas = () => r.deltas.filter((d) => d.updates.some((u) => u.meta)).length;
  const config = {
    watchdog_timeout: 60,
    power_on_threshold: 8.5,
    solo_power_off_threshold: 6,
    led_brightness: 40,
    auto_restart: true,
    solo_depleting_timeout: 10,
  };
  r.pub.snapshot({ ...SNAP, config });
  t.equal(metas(), 2, 'the thresholds read: new zones');
  r.pub.snapshot({ ...SNAP, config: { ...config, led_brightness: 50 } });
  t.equal(metas(), 2, 'another setting: the same zones');
  r.pub.snapshot({ ...SNAP, config: { ...config, power_on_threshold: 9 } });
  t.equal(metas(), 3, 'the power-on threshold');
  r.pub.snapshot({ ...SNAP, config: { ...config, power_on_threshold: 9, solo_power_off_threshold: 5 } });
  t.equal(metas(), 4, 'the solo power-off threshold');
});

t.test('a server that refuses setDefaultMetadata gets the metadata as a delta instead', async (t) => {
  const deltas: Delta[] = [];
  const { options } = resolveOptions({});
  const pub = new Publisher(
    {
      handleMessage: (d) => deltas.push(d),
      setStatus: () => {},
      setError: () => {},
      setDefaultMetadata: async () => {
        throw new Error('not allowed');
      },
    },
    options,
    new FakeClock(),
    { mode: 'engine', statusText: () => 's', connectedText: () => 'c', staleText: (x: string) => x },
  );
  pub.begin();
  await new Promise((res) => setImmediate(res));
  const meta = deltas.flatMap((d) => d.updates.flatMap((u) => u.meta ?? []));
  t.equal(meta.length, PATHS.length, 'each path once');
  t.equal((meta.find((m) => m.path === `${P}.dcInputVoltage`)?.value as { units?: string }).units, 'V');
  pub.stop();
});

t.test('events that change nothing send nothing', async (t) => {
  const r = rig();
  r.pub.begin();
  r.pub.snapshot(SNAP);
  r.pub.poweroffFailed('exited with code 1');
  const n = r.deltas.length;
  r.pub.change({ usb: SNAP.usb, state: SNAP.state });
  r.pub.poweroffFailed('exited with code 1');
  r.pub.controller({ reachable: true, powerCycleAt: null });
  r.pub.blackout({ phase: 'end' });
  t.equal(r.deltas.length, n, 'no delta, not even an empty one');
});

t.test('no data at all after the start: stale at the timeout, saying no data came yet', async (t) => {
  const r = rig({ staleTimeout: 5, pollInterval: 1000 });
  r.pub.begin();
  await r.clock.advance(4999);
  t.same(r.errors, [], 'not before the timeout');
  t.notOk(r.pub.isStale);
  await r.clock.advance(1);
  t.ok(r.pub.isStale);
  const alert = 'halpid not reachable at /x: no data yet';
  t.same(r.errors, [alert]);
  t.same(r.value(`notifications.${P}.connection`), { state: 'alert', method: ['visual'], message: alert });
  t.equal(r.value(`${P}.dcInputVoltage`), null);
});

t.test('the stale timeout runs from the last snapshot', async (t) => {
  const r = rig({ staleTimeout: 5, pollInterval: 1000 });
  r.pub.begin();
  await r.clock.advance(3000);
  r.pub.snapshot(SNAP);
  await r.clock.advance(4999);
  t.notOk(r.pub.isStale, '4.999 s after the snapshot');
  await r.clock.advance(1);
  t.ok(r.pub.isStale, '5 s after the snapshot');
  t.same(r.errors, ['halpid not reachable at /x: no data yet']);
});

t.test("halpid's supply event: the supercap paths at once; while stale, kept for the next snapshot", async (t) => {
  const r = rig({ staleTimeout: 5, pollInterval: 1000 });
  r.pub.begin();
  r.pub.snapshot(SNAP);
  const n = r.deltas.length;
  r.pub.supply({ charge: 80, runtime: 30, shutdown_in: null, shutting_down: false, power: null, current: null });
  t.equal(r.deltas.length, n + 1, 'one delta');
  t.same(
    r.values(n),
    [
      { path: `${P}.supercap.stateOfCharge`, value: 0.8 },
      { path: `${P}.supercap.timeRemaining`, value: 30 },
      { path: `${P}.supercap.power`, value: null },
      { path: `${P}.supercap.current`, value: null },
      { path: `${P}.blackout.timeToShutdown`, value: null },
    ],
    'the measurements of the supply, nothing else',
  );
  await r.clock.advance(5000);
  t.ok(r.pub.isStale);
  const stale = r.deltas.length;
  r.pub.supply({ charge: 50, runtime: 10, shutdown_in: 4, shutting_down: true, power: 2, current: 0.2 });
  t.equal(r.deltas.length, stale, 'nothing among the nulls');
  r.pub.snapshot(SNAP);
  t.equal(r.value(`${P}.supercap.stateOfCharge`, stale), 0.5, 'the kept supply with the next snapshot');
  t.equal(r.value(`${P}.blackout.timeToShutdown`, stale), 4);
  t.equal(r.value(`${P}.blackout.shuttingDown`, stale), true);
});

t.test(
  'the countdown refresh: a number that gains or loses a digit is still a countdown, held to once a second',
  async (t) => {
    const N = `notifications.${P}.blackout`;
    const r = rig();
    r.pub.begin();
    r.pub.snapshot(SNAP);
    await r.clock.advance(3000); // the blackout starts 3 s after the plugin: its times count from then
    r.pub.blackout({ phase: 'start', time_limit: 12 });
    const snap = (V_cap: number) =>
      r.pub.snapshot({ ...SNAP, V_in: 0, V_cap, state: 'BlackoutCoOp', daemon_state: 'BLACKOUT' });
    const messages = () =>
      r
        .values()
        .filter((v) => v.path === N)
        .map((v) => (v.value as { message: string }).message);
    const lost = 'HALPI2 input power lost, running on supercap';
    snap(10.05);
    t.same(messages().slice(-1), [`${lost} (V_cap 10.05 V, shutdown in 12 s)`]);
    const n = messages().length;
    await r.clock.advance(200);
    snap(9.96); // 10.05 → 9.96: one digit fewer
    await r.clock.advance(200);
    snap(9.93); // a change in the second decimal only
    t.equal(messages().length, n, 'no refresh within the second');
    await r.clock.advance(1100); // t = 1.5 s
    snap(9.87);
    t.same(messages().slice(n), [`${lost} (V_cap 9.87 V, shutdown in 11 s)`], 'refreshed after a second');
    await r.clock.advance(500); // t = 2.0 s: 10 s left, 0.5 s after the last refresh
    snap(9.84);
    t.equal(messages().length, n + 1, 'the seconds changed, but within the second: held');
    for (let i = 0; i < 8; i++) {
      await r.clock.advance(1000);
      snap(9.8 - i * 0.01);
    }
    t.equal(messages().at(-1), `${lost} (V_cap 9.73 V, shutdown in 2 s)`, 'refreshed once a second (t = 10 s)');
    t.same(r.malformed(), [], 'every value sent is a path and a value');
  },
);

t.test('a change event publishes a changed identity value at once, and only what changed', async (t) => {
  const r = rig();
  r.pub.begin();
  r.pub.snapshot(SNAP);
  const n = r.deltas.length;
  r.pub.change({ daemon_version: '5.2.0', firmware_version: SNAP.firmware_version });
  t.same(r.values(n), [{ path: `${P}.daemonVersion`, value: '5.2.0' }]);
});

t.test('discrete values are resent 60 s after the last resend, whenever the first snapshot came', async (t) => {
  const r = rig({ staleTimeout: 600 });
  r.pub.begin();
  await r.clock.advance(7000);
  r.pub.snapshot(SNAP); // the first: everything, at t = 7 s
  await r.clock.advance(59_999);
  let n = r.deltas.length;
  r.pub.snapshot(SNAP);
  t.notOk(r.paths(n).includes(`${P}.powerState`), '59.999 s later: not yet');
  await r.clock.advance(1);
  n = r.deltas.length;
  r.pub.snapshot(SNAP);
  t.ok(r.paths(n).includes(`${P}.powerState`), '60 s later');
});

t.test('a shutdown by hand is no blackout emergency, at the start or after a restart seen only as OK', async (t) => {
  const N = `notifications.${P}.blackout`;
  const normal = { state: 'normal', method: [], message: 'HALPI2 input power OK' };
  // The plugin starts while halpid is shutting down by hand: no blackout is known.
  const r = rig();
  r.pub.begin();
  r.pub.snapshot({ ...SNAP, daemon_state: 'SHUTDOWN', state: 'ManualShutdown' });
  t.same(r.value(N), normal, 'at the start');
  // A blackout shutdown; the plugin's data goes stale while the host is down; halpid restarts, and
  // the first thing the plugin hears is OK (its START fell in the gap).
  const s = rig();
  s.pub.begin();
  s.pub.snapshot(SNAP);
  s.pub.blackout({ phase: 'start', time_limit: 5 });
  s.pub.blackout({ phase: 'shutdown' });
  s.pub.change({ daemon_state: 'DEAD' });
  t.equal((s.value(N) as { state: string }).state, 'emergency');
  await s.clock.advance(60_000);
  t.ok(s.pub.isStale);
  s.pub.snapshot(SNAP);
  t.same(s.value(N), normal, 'OK after the restart');
  s.pub.change({ daemon_state: 'SHUTDOWN', state: 'ManualShutdown' });
  t.same(s.value(N), normal, 'then a shutdown by hand');
});

t.test('after a blackout ended, a blackout without a start event shows no countdown', async (t) => {
  const N = `notifications.${P}.blackout`;
  const r = rig();
  r.pub.begin();
  r.pub.snapshot(SNAP);
  r.pub.blackout({ phase: 'start', time_limit: 5 });
  await r.clock.advance(2000);
  r.pub.blackout({ phase: 'end' });
  await r.clock.advance(1000);
  // The controller drops to a solo blackout on its own (no start event from the daemon).
  r.pub.change({ state: 'BlackoutSolo' });
  t.same(r.value(N), {
    state: 'alarm',
    method: ['visual', 'sound'],
    message: 'HALPI2 input power lost, running on supercap (V_cap 10.00 V)',
  });
});
