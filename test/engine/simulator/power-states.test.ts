// Scenarios of docs/controller.md (1–6), driven by an injected clock.
import t from 'tap';
import { rig } from '../../helpers/sim.js';

t.test('cold start reaches OperationalSolo, and arming the watchdog gives OperationalCoOp', async (t) => {
  const { clock, sim, write, state, read } = rig({ start: 'cold', inputs: { V_cap: 0 } });
  t.equal(state(), 'PowerOff');
  t.same(await read(0x1a, 1), [0], 'USB outputs 0x00 until first initialised');
  await clock.advanceUntil(() => state() === 'OffCharging', 1000);
  const charging = await clock.advanceUntil(() => state() === 'SystemStartup', 60_000, 50);
  t.ok(charging > 15_000 && charging < 35_000, `charging from empty took ${charging} ms (≈25 s expected)`);
  t.same(await read(0x1a, 1), [0x0f], 'all USB ports on at SystemStartup');
  t.same(await read(0x10, 1), [1], 'PG_5V high once the rails are on');
  const boot = await clock.advanceUntil(() => state() === 'OperationalSolo', 10_000);
  t.ok(boot >= 3000 && boot <= 3100, `host booted after its 3 s boot delay (${boot} ms)`);
  await write(0x12, 0x27, 0x10);
  t.equal(state(), 'OperationalSolo', 'the event is processed on the next 50 ms tick, not at once');
  await clock.advance(50);
  t.equal(state(), 'OperationalCoOp');
  t.same(await read(0x12, 2), [0x27, 0x10], '0x12 reads back the written value');
  t.equal(sim.watchdogActiveMs, 10000);
});

t.test(
  'blackout with a daemon: BlackoutCoOp → 0x30 → BlackoutShutdown → halt → PoweredDownBlackout → reset → back up',
  async (t) => {
    const { clock, sim, write, state, u16 } = rig();
    await write(0x12, 0x27, 0x10);
    await clock.advance(50);
    t.equal(state(), 'OperationalCoOp');
    sim.setPower(false);
    // The 10-sample average crosses 9 V after ≈3 samples; VIN then reads 0 (VIN < VSCAP).
    const detect = await clock.advanceUntil(() => state() === 'BlackoutCoOp', 1000);
    t.ok(detect <= 150, `BlackoutCoOp within ${detect} ms of the cut`);
    t.equal(await u16(0x20), 0, 'VIN reads 0 during a blackout');
    // The watchdog is not checked in BlackoutCoOp: 20 s without traffic do not matter.
    await clock.advance(20_000);
    t.equal(state(), 'BlackoutCoOp');
    await write(0x30, 0x01);
    await clock.advance(50);
    t.equal(state(), 'BlackoutShutdown');
    sim.haltHost();
    const down = await clock.advanceUntil(() => state() === 'PoweredDownBlackout', 5000);
    t.ok(down >= 2000 && down <= 2100, `host halted after 2 s, rails off (${down} ms)`);
    t.equal(sim.snapshot().controller.rails_on, false);
    t.equal(sim.snapshot().controller.usb, 0, 'USB off when powered down');
    // Input returns while powered down; after 5 s the MCU resets and starts the host again.
    sim.setPower(true);
    await clock.advanceUntil(() => state() === 'PowerOff' || sim.log.some((e) => e.result === 'MCU reset'), 6000);
    await clock.advanceUntil(() => state() === 'SystemStartup', 2000);
    await clock.advanceUntil(() => state() === 'OperationalSolo', 5000);
    t.same(await u16(0x12), 0, 'watchdog copy lost on MCU reset');
  },
);

t.test('blackout shorter than the daemon limit returns to OperationalCoOp', async (t) => {
  const { clock, sim, write, state } = rig();
  await write(0x12, 0x27, 0x10);
  await clock.advance(100);
  sim.setPower(false);
  await clock.advanceUntil(() => state() === 'BlackoutCoOp', 1000);
  await clock.advance(2000);
  sim.setPower(true);
  await clock.advanceUntil(() => state() === 'OperationalCoOp', 1000);
  t.pass('back to OperationalCoOp');
});

t.test('blackout without a daemon: solo depleting timeout, double click, BlackoutShutdown', async (t) => {
  const { clock, sim, state } = rig();
  t.equal(state(), 'OperationalSolo');
  sim.setPower(false);
  await clock.advanceUntil(() => state() === 'BlackoutSolo', 1000);
  const entered = clock.now();
  await clock.advanceUntil(() => state() === 'BlackoutShutdown', 10_000);
  const waited = clock.now() - entered;
  t.ok(waited > 5000 && waited <= 5050, `strict > 5000 ms on a 50 ms tick (${waited} ms)`);
  // The double click makes the host OS halt; CM_ON falls, the rails go off.
  await clock.advanceUntil(() => state() === 'PoweredDownBlackout', 5000);
  t.notOk(sim.snapshot().host.cm_on);
});

t.test('solo blackout with a shorter solo depleting timeout and power back in time', async (t) => {
  const { clock, sim, write, state } = rig();
  await write(0x19, 0x00, 0x00, 0x07, 0xd0); // 2000 ms
  sim.setPower(false);
  await clock.advanceUntil(() => state() === 'BlackoutSolo', 1000);
  await clock.advance(1500);
  sim.setPower(true);
  await clock.advanceUntil(() => state() === 'OperationalSolo', 1000);
  sim.setPower(false);
  await clock.advanceUntil(() => state() === 'BlackoutSolo', 1000);
  const entered = clock.now();
  await clock.advanceUntil(() => state() === 'BlackoutShutdown', 5000);
  t.ok(clock.now() - entered <= 2050, 'the 2 s solo timeout applies');
});

t.test('watchdog expiry: recovery within the grace period', async (t) => {
  const { clock, write, state, read } = rig();
  await write(0x12, 0x03, 0xe8); // 1000 ms
  await clock.advance(50);
  t.equal(state(), 'OperationalCoOp');
  const silent = await clock.advanceUntil(() => state() === 'HostUnresponsive', 5000);
  t.ok(silent > 1000 && silent <= 1100, `HostUnresponsive after > 1 s without a transaction (${silent} ms)`);
  await clock.advance(3000);
  await read(0x15, 1); // any processed transaction pings
  await clock.advance(50);
  t.equal(state(), 'OperationalCoOp');
});

t.test('watchdog expiry without recovery power-cycles the host', async (t) => {
  const { clock, sim, write, state } = rig();
  await write(0x12, 0x27, 0x10);
  const armedAt = clock.now();
  await clock.advanceUntil(() => state() === 'HostUnresponsive', 15_000);
  await clock.advanceUntil(() => state() === 'PoweredDownBlackout', 6000);
  const off = clock.now() - armedAt;
  t.ok(off > 15_000 && off < 15_300, `rails off ≈15 s after the last transaction (${off} ms)`);
  t.notOk(sim.snapshot().host.cm_on, 'host lost power');
  await clock.advanceUntil(() => state() === 'SystemStartup', 6000);
  await clock.advanceUntil(() => state() === 'OperationalSolo', 4000);
  const back = clock.now() - armedAt;
  t.ok(back > 20_000 && back < 24_000, `host running again ≈20 s + boot after the last transaction (${back} ms)`);
});

t.test('reads feed the watchdog; rejected writes do not', async (t) => {
  const { clock, write, state, read } = rig();
  await write(0x12, 0x03, 0xe8);
  for (let i = 0; i < 30; i++) {
    await clock.advance(200);
    await read(0x20, 2);
  }
  t.equal(state(), 'OperationalCoOp', '6 s of reads kept it fed');
  for (let i = 0; i < 10; i++) {
    await clock.advance(200);
    await write(0x1a, 0x01, 0x02); // wrong length: rejected without ping
  }
  t.equal(state(), 'HostUnresponsive');
});

t.test('0x30 with the host halting: ManualShutdown → PoweredDownManual → restart with auto_restart', async (t) => {
  const { clock, sim, write, state } = rig();
  await write(0x30, 0x01);
  await clock.advance(50);
  t.equal(state(), 'ManualShutdown');
  sim.haltHost();
  await clock.advanceUntil(() => state() === 'PoweredDownManual', 3000);
  await clock.advanceUntil(() => state() === 'OperationalSolo', 15_000);
  t.pass('auto_restart brought it back');
});

t.test('0x30 without the host halting: hard cut after 60 s; auto_restart off stays down', async (t) => {
  const { clock, write, state } = rig();
  await write(0x18, 0x00);
  await write(0x30, 0x01);
  await clock.advance(50);
  const entered = clock.now();
  await clock.advanceUntil(() => state() === 'PoweredDownManual', 61_000, 50);
  t.ok(clock.now() - entered > 60_000, 'cut after more than 60 s');
  await clock.advance(30_000);
  t.equal(state(), 'PoweredDownManual', 'stays down without auto_restart');
});

t.test('0x31 with the host halting reaches Standby; the RTC alarm wakes it', async (t) => {
  const { clock, sim, write, state, read } = rig();
  sim.setRtcAlarm(Math.floor(clock.wallNow() / 1000) + 20);
  await write(0x31, 0x01);
  await clock.advance(50);
  t.equal(state(), 'EnteringStandby');
  sim.haltHost();
  await clock.advanceUntil(() => state() === 'Standby', 3000);
  t.ok(sim.snapshot().controller.rails_on, '5 V stays on in Standby');
  t.same(await read(0x10, 1), [1]);
  await clock.advanceUntil(() => state() === 'OperationalSolo', 30_000);
  t.ok(clock.wallNow() / 1000 >= sim.snapshot().host.rtc_alarm! || sim.snapshot().host.rtc_alarm === null);
});

t.test('0x31 without the host halting: Standby after 60 s with the host still running', async (t) => {
  const { clock, sim, write, state } = rig();
  await write(0x31, 0x01);
  await clock.advance(50);
  await clock.advanceUntil(() => state() === 'Standby', 61_000, 50);
  t.ok(sim.snapshot().host.cm_on, 'host still up');
  await clock.advance(30_000);
  t.equal(state(), 'Standby', 'stuck until CM_ON falls and rises');
});

t.test('0x30 is ignored in BlackoutSolo; 0x12 in shutdown states changes only the read-back', async (t) => {
  const { clock, sim, write, state, u16 } = rig();
  sim.setPower(false);
  await clock.advanceUntil(() => state() === 'BlackoutSolo', 1000);
  await write(0x30, 0x01);
  await clock.advance(50);
  t.equal(state(), 'BlackoutSolo');
  await write(0x12, 0x13, 0x88);
  await clock.advance(50);
  t.equal(state(), 'BlackoutSolo', 'no mode switch outside Operational*');
  t.equal(await u16(0x12), 5000, 'but the read-back copy changed');
});

t.test('0x10 ← 0 is an immediate hard power-down; 0x10 ← 1 does nothing', async (t) => {
  const { clock, write, state } = rig();
  await write(0x10, 0x01);
  await clock.advance(100);
  t.equal(state(), 'OperationalSolo');
  await write(0x10, 0x00);
  t.equal(state(), 'PoweredDownManual', 'immediate, not on the next tick');
});

t.test('the power button wakes a powered-down controller regardless of auto_restart', async (t) => {
  const { clock, sim, write, state } = rig();
  await write(0x18, 0x00);
  await write(0x10, 0x00);
  await clock.advance(10_000);
  t.equal(state(), 'PoweredDownManual');
  sim.button('click');
  await clock.advanceUntil(() => state() === 'OperationalSolo', 10_000);
  t.pass('button press → MCU reset → host up');
});

t.test('supercap over-voltage latches in a powered state', async (t) => {
  const { clock, sim } = rig();
  sim.setInputs({ V_cap: 10.7 });
  await clock.advance(100);
  t.ok(sim.snapshot().controller.state === 'OperationalSolo');
  t.ok((sim as unknown as { sm: { overvoltageLatched: boolean } }).sm.overvoltageLatched, 'latched above 10.6 V');
});

t.test('brown-out: the supercap runs flat and the host loses power before the controller stops', async (t) => {
  const { clock, sim, state } = rig();
  sim.setHost({ load_W: 30 });
  await sim.write(Uint8Array.of(0x19, 0xff, 0xff, 0xff, 0xff)); // solo timeout far away
  sim.setPower(false);
  await clock.advanceUntil(() => !sim.snapshot().host.cm_on, 30_000, 100);
  t.ok(sim.snapshot().inputs.V_cap < 5.1, 'the host lost power near 5 V');
  await clock.advance(100);
  const transitions = sim.log.filter((e) => e.kind === 'transition' || e.kind === 'reset').map((e) => e.result);
  t.same(
    transitions.slice(-2),
    ['BlackoutSolo -> PoweredDownManual', 'MCU reset'],
    'CM_ON fell in a blackout state → PoweredDownManual → (VIN ≤ 9) MCU reset',
  );
  t.equal(state(), 'PowerOff');
});
