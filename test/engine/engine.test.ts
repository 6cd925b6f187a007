// Engine: one owner of the bus, bus economy, shared snapshots, events, flash beside the supervisor.
import t from 'tap';
import { HttpCounters, renderMetrics } from '../../engine/api/metrics.js';
import { FakeClock } from '../../engine/clock.js';
import { engineRig, tickTimes } from '../helpers/engine.js';
import { firmwareImage } from '../helpers/firmware.js';

t.test('idle traffic stays at or below 12 transactions/s, and each tick still reads V_in', async (t) => {
  const { clock, engine, stop } = engineRig();
  engine.start();
  await clock.advance(1000);
  const before = engine.device.transactions;
  await clock.advance(60_000);
  const rate = (engine.device.transactions - before) / 60;
  t.ok(rate <= 12, `idle rate ${rate.toFixed(2)} transactions/s`);
  t.ok(rate >= 10, 'at least one V_in read per 100 ms tick');
  await stop();
});

t.test('a client asking for 1 s values gets a full poll every second; releasing returns to idle', async (t) => {
  const { clock, engine, stop } = engineRig();
  const polls: number[] = [];
  engine.on('values', () => polls.push(clock.now()));
  engine.start();
  await clock.advance(100);
  const release = engine.demand(1000);
  polls.length = 0;
  await clock.advance(10_000);
  t.ok(polls.length >= 9 && polls.length <= 11, `${polls.length} polls in 10 s`);
  release();
  polls.length = 0;
  await clock.advance(10_000);
  t.ok(polls.length <= 2, `${polls.length} polls in 10 s when idle`);
  await stop();
});

t.test('concurrent readers within one tick share one bus read', async (t) => {
  const { clock, engine, stop } = engineRig();
  const before = engine.device.transactions;
  const reads = await Promise.all([engine.readMeasurements(), engine.readMeasurements(), engine.readMeasurements()]);
  t.equal(engine.device.transactions - before, 7, 'one 7-register block');
  t.equal(reads[0], reads[2], 'the same snapshot');
  await engine.readMeasurements();
  t.equal(engine.device.transactions - before, 7, 'still fresh: no new read');
  await clock.advance(100);
  await engine.readMeasurements();
  t.equal(engine.device.transactions - before, 14, 'older than one tick: read again');
  await stop();
});

t.test('stop disarms the watchdog and leaves the controller in OperationalSolo', async (t) => {
  const { clock, sim, engine, stop } = engineRig();
  engine.start();
  await clock.advance(200);
  t.equal(sim.state, 'OperationalCoOp');
  const result = await stop();
  t.same(result, { watchdogDisabled: true });
  await clock.advance(100);
  t.equal(sim.state, 'OperationalSolo');
  t.equal(sim.snapshot().controller.watchdog_ms, 0);
  const traffic = engine.device.transactions;
  await clock.advance(5000);
  t.equal(engine.device.transactions, traffic, 'no traffic after stop');
});

t.test('stop reports a watchdog that could not be disarmed', async (t) => {
  const { clock, sim, engine, stop } = engineRig();
  engine.start();
  await clock.advance(200);
  sim.addFault({ kind: 'nack', registers: [0x12], count: 0 });
  const result = await stop();
  t.same(result, { watchdogDisabled: false, error: 'Failed to write to register 0x12' });
});

t.test('/values set: block errors propagate, identity and status fall back', async (t) => {
  const { clock, sim, engine, stop } = engineRig();
  engine.start();
  await clock.advance(200);
  const v = await engine.readValues();
  t.match(v, {
    V_in: 11.99951171875,
    state: 'OperationalCoOp',
    watchdog_enabled: true,
    watchdog_timeout: 10,
    firmware_version: '3.3.1',
    hardware_version: 'N/A',
    device_id: '0123456789abcdef',
    '5v_output_enabled': true,
  });
  for (const reg of [0x03, 0x04, 0x25, 0x10, 0x12]) sim.addFault({ kind: 'nack', registers: [reg], count: 0 });
  await clock.advance(100);
  const p = engine.readValues({ usb: true });
  await clock.advance(500);
  t.match(
    await p,
    {
      firmware_version: '3.3.1',
      hardware_version: 'N/A',
      device_id: '0123456789abcdef',
      '5v_output_enabled': false,
      watchdog_enabled: false,
      watchdog_timeout: 0,
      usb_port_state: 15,
    },
    'the identity read before is kept; 0x10 and 0x12 are read for every request and fall back',
  );
  // Those failures were bus errors: the identity is read again, and now falls back too.
  const p2 = engine.readValues();
  await clock.advance(500);
  t.match(await p2, { firmware_version: 'N/A', hardware_version: 'N/A', device_id: '0000000000000000' });
  sim.faults.clear();
  const p3 = engine.readValues();
  await clock.advance(100);
  t.match(await p3, { firmware_version: '3.3.1', device_id: '0123456789abcdef' }, 'read again once the bus answers');
  sim.addFault({ kind: 'nack', registers: [0x22], count: 0 });
  await clock.advance(100);
  const failed = t.rejects(engine.readValues(), { message: 'Failed to read from register 0x22' });
  await clock.advance(500);
  await failed;
  await stop();
});

t.test('config reads fall back per key; writes publish the re-read config', async (t) => {
  const { clock, sim, engine, stop } = engineRig();
  const configs: unknown[] = [];
  engine.on('config', (c) => configs.push(c));
  await engine.writeConfigRaw('led_brightness', 40);
  t.same(configs, [
    {
      auto_restart: true,
      led_brightness: 40,
      power_on_threshold: 7.9997406005859375,
      solo_depleting_timeout: 5,
      solo_power_off_threshold: 5.4998321533203125,
      watchdog_timeout: 0,
    },
  ]);
  sim.addFault({ kind: 'nack', registers: [0x17, 0x13], count: 0 });
  const p = engine.readConfig();
  await clock.advance(200);
  t.match(await p, { led_brightness: 0, power_on_threshold: 0, auto_restart: true });
  await stop();
});

t.test('USB read-modify-write is one logical operation and publishes changes', async (t) => {
  const { clock, sim, engine, stop } = engineRig();
  const usb: unknown[] = [];
  engine.on('usb', (u) => usb.push(u));
  t.equal(await engine.readUsb(), 0x0f);
  await engine.updateUsb((b) => b & ~(1 << 2));
  t.equal(sim.snapshot().controller.usb, 0x0b);
  t.same(usb, [
    { usb0: true, usb1: true, usb2: true, usb3: true },
    { usb0: true, usb1: true, usb2: false, usb3: true },
  ]);
  // Nothing else may touch the bus between the read and the write.
  const order: string[] = [];
  const rmw = engine.updateUsb((b) => {
    order.push('modify');
    return b | 4;
  });
  const other = engine.readMeasurements(0).then(() => order.push('measure'));
  await Promise.all([rmw, other]);
  t.same(order, ['modify', 'measure']);
  const regs = sim.log
    .filter((e) => e.kind === 'read' || e.kind === 'write')
    .slice(-9)
    .map((e) => e.register);
  t.same(regs.slice(0, 2), [0x1a, 0x1a], 'read then write of 0x1A back to back');
  void clock;
  await stop();
});

t.test('shutdown over the API: 0x30 then the poweroff command; standby: rtcwake, 0x31, poweroff', async (t) => {
  const { clock, sim, engine, rec, stop } = engineRig({ haltOnPoweroff: false });
  const events: unknown[] = [];
  engine.on('shutdown', (e) => events.push(e));
  await engine.requestShutdown();
  await clock.advance(50);
  t.equal(sim.state, 'ManualShutdown');
  t.equal(rec.poweroff.length, 1);
  const wake = Math.floor(clock.wallNow() / 1000) + 600;
  const { engine: e2, sim: s2, rec: r2, clock: c2, stop: stop2 } = engineRig({ haltOnPoweroff: false });
  const standbyEvents: unknown[] = [];
  e2.on('shutdown', (e) => standbyEvents.push(e));
  await e2.requestStandby(wake, 'in ten minutes');
  await c2.advance(50);
  t.same(r2.rtcwake, [wake]);
  t.equal(s2.snapshot().host.rtc_alarm, wake);
  t.equal(s2.state, 'EnteringStandby');
  t.equal(r2.poweroff.length, 1);
  t.same(events, [{ command: 'harmless-poweroff', kind: 'shutdown', source: 'api', wakeup: null }]);
  t.same(standbyEvents, [{ command: 'harmless-poweroff', kind: 'standby', source: 'api', wakeup: wake }]);
  await stop();
  await stop2();
});

t.test('a failing rtcwake stops the standby before the controller is asked', async (t) => {
  const { engine, sim, rec, stop } = engineRig();
  const e = engine as unknown as { actions: { rtcwake: (s: number) => Promise<void> } };
  e.actions.rtcwake = async () => {
    throw new Error('rtcwake failed: no RTC');
  };
  await t.rejects(engine.requestStandby(2e9, 'later'), { message: 'rtcwake failed: no RTC' });
  t.equal(sim.state, 'OperationalSolo');
  t.equal(rec.poweroff.length, 0);
  await stop();
});

t.test('dry-run: shutdown and standby requests are only logged', async (t) => {
  const { clock, sim, engine, rec, stop } = engineRig({ settings: { dryRun: true } });
  await engine.requestShutdown();
  await engine.requestStandby(2e9, 'later');
  await clock.advance(100);
  t.equal(sim.state, 'OperationalSolo');
  t.equal(rec.poweroff.length, 0);
  t.same(rec.rtcwake, []);
  t.equal(rec.logs.filter((l) => l.message.startsWith('Dry run:')).length, 2);
  await stop();
});

t.test('a blackout during a flash still leads to shutdown; the bus is shared between them', async (t) => {
  const { clock, sim, engine, rec, when, stop } = engineRig({ sim: { sectorEraseMs: 30, blockProgramMs: 10 } });
  const progress: string[] = [];
  engine.on('flash', (p) => progress.push(p.phase));
  engine.start();
  await clock.advance(31_000);
  const img = firmwareImage({ bytes: 128 * 4096 });
  let flashError: Error | null = null;
  let flashDone = false;
  engine
    .flash(img)
    .catch((e: Error) => {
      flashError = e;
    })
    .finally(() => {
      flashDone = true;
    });
  await clock.advance(6000);
  t.ok(progress.includes('block'), 'blocks are being written');
  sim.setPower(false);
  await clock.advanceUntil(() => engine.state === 'DEAD', 8000);
  t.ok(engine.flashInProgress, 'the flash was still running at shutdown');
  const d = when('SHUTDOWN')! - when('BLACKOUT')!;
  t.ok(d > 5000 && d <= 5100, `shutdown ${d} ms after detection, flash or not`);
  t.equal(rec.poweroff.length, 1);
  await clock.advanceUntil(() => flashDone, 120_000, 100);
  t.match(
    flashError,
    { message: /^Failed to (read from|write to) register 0x4[1-5]$/ },
    'the flash failed once the host was gone',
  );
  t.equal(progress.at(-1), 'error');
  await stop();
});

t.test('flashes are serialised; a flash succeeds while the supervisor ticks', async (t) => {
  const { clock, engine, sim, stop } = engineRig();
  engine.start();
  await clock.advance(31_000);
  const order: string[] = [];
  const second = firmwareImage({ bytes: 256, seed: 2 });
  const a = engine.flash(firmwareImage({ bytes: 5000 })).then(() => order.push('a'));
  const b = engine.flash(second).then(() => order.push('b'));
  await clock.advanceUntil(() => order.length === 2, 30_000, 100);
  await Promise.all([a, b]);
  t.same(order, ['a', 'b']);
  t.equal(engine.state, 'OK');
  t.equal(sim.state, 'OperationalCoOp', 'the watchdog stayed fed');
  t.same([sim.dfu.staged.size, sim.dfu.staged.get(0)!.subarray(0, 256)], [1, second], 'the second image is staged');
  await stop();
});

t.test('an image the bootloader could not start is refused before any DFU transaction', async (t) => {
  const { clock, engine, sim, rec, stop } = engineRig();
  const phases: string[] = [];
  engine.on('flash', (p) => phases.push(p.phase));
  engine.start();
  await clock.advance(1000);
  await t.rejects(engine.flash(Buffer.from('pi\n')), {
    name: 'FirmwareImageError',
    message: 'Not a HALPI2 firmware image: this is a text file',
  });
  await t.rejects(engine.flash(firmwareImage({ bytes: 8192 }).subarray(0, 4096)), {
    message: /^Firmware image is truncated: /,
  });
  t.notOk(
    sim.log.some((e) => e.kind === 'write' && e.register !== undefined && e.register >= 0x40 && e.register <= 0x45),
    'no DFU register written',
  );
  t.same(phases, [], 'no flash events');
  t.notOk(engine.flashInProgress);
  t.ok(rec.logs.some((l) => l.message === 'Firmware image refused: Not a HALPI2 firmware image: this is a text file'));
  await stop();
});

t.test('stopping during a flash aborts it (0x45) and disarms the watchdog', async (t) => {
  const { clock, engine, sim, rec, stop } = engineRig();
  engine.start();
  await clock.advance(100);
  const f = engine.flash(firmwareImage({ bytes: 20 * 4096 }));
  const failed = t.rejects(f, { message: 'Firmware update aborted' });
  await clock.advance(1000);
  await stop();
  await clock.advance(1000);
  await failed;
  t.ok(rec.logs.some((l) => l.message === 'Aborting firmware update'));
  t.ok(sim.log.some((e) => e.kind === 'write' && e.register === 0x45));
  t.equal(sim.snapshot().controller.watchdog_ms, 0);
  await t.rejects(engine.flash(firmwareImage()), { message: 'Firmware update aborted' }, 'no flash after stop');
});

t.test('state events carry both daemon and controller state', async (t) => {
  const { clock, engine, stop } = engineRig();
  const events: unknown[] = [];
  engine.on('state', (s) => events.push(s));
  engine.start();
  await clock.advance(300);
  t.same(events[0], { controller_state: null, daemon_state: 'OK' });
  t.same(
    events.at(-1),
    { controller_state: 'OperationalCoOp', daemon_state: 'OK' },
    'controller state from the first poll',
  );
  const release = engine.demand(100); // a client watching closely: the block every tick
  engine.simulator!.setPower(false);
  await clock.advance(300);
  t.same(
    events.at(-1),
    { controller_state: 'BlackoutCoOp', daemon_state: 'BLACKOUT' },
    'the daemon transition and the controller change are both published',
  );
  release();
  await stop();
});

t.test('timers that fire up to 1 ms early: one tick per 100 ms slot, never two', async (t) => {
  const clock = new FakeClock(undefined, 0, { earlyMs: 1 });
  const { engine, stop } = engineRig({ clock });
  const ticks = tickTimes(engine, clock);
  engine.start();
  await clock.advance(10_000 - 50);
  t.equal(ticks.length, 100, `${ticks.length} ticks in 10 s`);
  const slots = ticks.map((ms) => Math.round(ms / 100));
  t.same(slots, [...new Set(slots)], 'no slot ran twice');
  await stop();
});

t.test(
  'simulator mode says what the simulated host does: halting, powered off (and how to restore), booting',
  async (t) => {
    const { clock, sim, engine, rec, stop } = engineRig();
    engine.start();
    await clock.advance(500);
    sim.setPower(false);
    await clock.advanceUntil(() => !sim.host.cmOn, 15_000);
    await clock.advance(100);
    const off = rec.logs.find((l) => l.message.startsWith('Simulated host powered off'));
    t.ok(
      rec.logs.some((l) => l.message === 'Simulated host halting'),
      'the poweroff halts the simulated OS',
    );
    t.match(off, {
      level: 'warn',
      message:
        /^Simulated host powered off \(controller state \w+\); restore power with: POST \/sim\/power \{"on":true\}\. Until it boots, the controller cannot be reached, as on real hardware: reads answer 500$/,
    });
    const read = engine.readValues().then(
      () => 'answered',
      (err: Error) => err.message,
    );
    await clock.advance(200); // its retries wait on the fake clock
    t.match(await read, /^Failed to read from register/, 'and the API reads do fail meanwhile');
    sim.setPower(true);
    await clock.advanceUntil(() => engine.state === 'OK' && sim.host.cmOn, 30_000, 50);
    const booting = rec.logs.findIndex((l) => l.message.startsWith('Simulated host booting (controller state '));
    const booted = rec.logs.findIndex((l) => l.message.startsWith('Simulated host booted'));
    t.ok(booting >= 0 && booted > booting, 'booting, then booted');
    await stop();
  },
);

t.test('a simulated host halted with the power on and auto-restart off: the advice is the power button', async (t) => {
  const { clock, sim, engine, rec, stop } = engineRig();
  engine.start();
  await clock.advance(500);
  await engine.writeConfigRaw('watchdog_timeout', 0);
  await engine.writeConfigRaw('auto_restart', 0);
  sim.haltHost();
  await clock.advanceUntil(() => rec.logs.some((l) => l.message.startsWith('Simulated host powered off')), 10_000);
  t.match(
    rec.logs.find((l) => l.message.startsWith('Simulated host powered off'))!.message,
    /; wake it with the power button: POST \/sim\/button \{"action":"click"\}\./,
  );
  await stop();
});

t.test(
  'a simulated host halted with auto-restart on, or after a blackout: the advice says it comes back by itself',
  async (t) => {
    const { clock, sim, engine, rec, stop } = engineRig();
    engine.start();
    await clock.advance(500);
    await engine.writeConfigRaw('watchdog_timeout', 0);
    await engine.writeConfigRaw('auto_restart', 1);
    sim.haltHost();
    await clock.advanceUntil(() => rec.logs.some((l) => l.message.startsWith('Simulated host powered off')), 10_000);
    t.match(
      rec.logs.find((l) => l.message.startsWith('Simulated host powered off'))!.message,
      /; auto-restart boots it again in about 5 s\./,
    );
    await clock.advanceUntil(() => sim.host.cmOn, 30_000, 50);
    t.pass('and it did');
    await clock.advanceUntil(() => engine.state === 'OK' && sim.state === 'OperationalCoOp', 10_000);
    const n = rec.logs.length;
    sim.setPower(false);
    await clock.advanceUntil(() => rec.poweroff.length === 1, 10_000);
    sim.setPower(true);
    await clock.advanceUntil(
      () => rec.logs.slice(n).some((l) => l.message.startsWith('Simulated host powered off')),
      10_000,
    );
    t.match(
      rec.logs.slice(n).find((l) => l.message.startsWith('Simulated host powered off'))!.message,
      /; it boots again by itself once the controller has restarted and the supercap is charged\./,
    );
    await stop();
  },
);

t.test('GET /values at 1 request/s costs at most 8 bus transactions beyond the idle ticks', async (t) => {
  const idle = engineRig();
  idle.engine.start();
  await idle.clock.advance(2000);
  const i0 = idle.sim.processed;
  await idle.clock.advance(60_000);
  const idlePerMinute = idle.sim.processed - i0;
  await idle.stop();
  const { clock, sim, engine, stop } = engineRig();
  engine.start();
  await clock.advance(2000);
  await engine.readValues(); // the identity, once
  const p0 = sim.processed;
  for (let k = 0; k < 60; k++) {
    const v = engine.readValues();
    await clock.advance(1000);
    await v;
  }
  const perRequest = (sim.processed - p0 - idlePerMinute) / 60;
  t.ok(
    perRequest <= 8,
    `${perRequest.toFixed(2)} transactions per request (the 7-register block, 0x10 and 0x12, less the tick's V_in it serves)`,
  );
  t.ok(perRequest >= 7, 'each request still reads the block for itself: values as fresh as before');
  await stop();
});

t.test('the identity is read again when the simulator changes it', async (t) => {
  const { clock, sim, engine, stop } = engineRig();
  engine.start();
  await clock.advance(500);
  const read = async () => {
    const p = engine.readValues();
    await clock.advance(100);
    return p;
  };
  t.equal((await read()).firmware_version, '3.3.1');
  // The simulator's controls change the world at once (PUT /sim/controller).
  sim.setIdentity({ firmware_version: [3, 4, 0] });
  engine.invalidateMeasurements();
  t.match((await read()).firmware_version, /^3\.4\.0/, 'the new version, at once');
  await stop();
});

t.test('a failing bus raises the error event at once, then at most once a second', async (t) => {
  const { clock, sim, engine, stop } = engineRig();
  engine.start();
  await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
  const disarm = engine.writeConfigRaw('watchdog_timeout', 0); // or it would power-cycle the host
  await clock.advance(100);
  await disarm;
  const errors: Array<{ t: number; message: string }> = [];
  engine.on('error', (e) => errors.push({ t: clock.now(), message: e.message }));
  const dead = clock.now();
  sim.addFault({ kind: 'nack', count: 0 });
  await clock.advance(5000);
  t.ok(errors.length > 0 && errors[0]!.t - dead <= 200, 'the first failed tick is reported');
  t.equal(errors[0]!.message, 'Failed to read from register 0x20');
  t.ok(errors.length >= 4 && errors.length <= 6, `${errors.length} error events in 5 s of failing ticks`);
  t.same(
    errors.slice(1).map((e, i) => e.t - errors[i]!.t),
    errors.slice(1).map(() => 1000),
    'one a second: the first failed tick a second after the last event raises the next',
  );
  sim.faults.clear();
  await stop();
});

t.test('/metrics shows the watchdog the daemon armed at START, before any status read', async (t) => {
  for (const [watchdogMs, seconds] of [
    [undefined, 10],
    [60_000, 60],
  ] as const) {
    const { clock, engine, stop } = engineRig({ settings: watchdogMs === undefined ? {} : { watchdogMs } });
    engine.start();
    await clock.advanceUntil(() => engine.state === 'OK', 1000);
    const metrics = renderMetrics(engine, new HttpCounters(), { version: 'x', dialect: 5 });
    t.match(metrics, new RegExp(`^halpi_watchdog_timeout_seconds ${seconds}$`, 'm'));
    t.match(metrics, /^halpi_watchdog_enabled 1$/m);
    await stop();
  }
});
