// Transaction classes, length and ping rules, register quirks (docs/controller.md).
import t from 'tap';
import { FakeClock } from '../../../engine/clock.js';
import { SimulatedController } from '../../../engine/simulator/controller.js';
import { rig } from '../../helpers/sim.js';

t.test('plain reads, unknown and write-only registers read zeros; no auto-increment', async (t) => {
  const { sim, read } = rig();
  t.same([...(await sim.plainRead(3))], [0, 0, 0], 'plain read');
  t.same(await read(0x7f, 2), [0, 0], 'unknown register');
  t.same(await read(0x30, 1), [0], 'write-only register');
  const vin = await read(0x20, 2);
  t.same(await read(0x20, 4), [...vin, 0, 0], '4 bytes at 0x20: VIN then fill bytes');
  t.same(await read(0x04, 2), [3, 3], 'a shorter read drops the rest');
  t.same(
    [...(await sim.writeRead(Uint8Array.of(0x04, 0x20), 4))],
    [3, 3, 1, 0xff],
    'only the first written byte selects',
  );
});

t.test('identity registers and defaults of a fresh controller', async (t) => {
  const { read, u16 } = rig();
  t.same(await read(0x01, 1), [0x00]);
  t.same(await read(0x02, 1), [0xff]);
  t.same(await read(0x03, 4), [0, 0, 0xff, 0xff], 'unprogrammed hardware version');
  t.same(await read(0x04, 4), [3, 3, 1, 0xff]);
  t.same(await read(0x25, 8), [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
  t.equal(await u16(0x13), 47661);
  t.equal(await u16(0x14), 32767);
  t.same(await read(0x16, 1), [0], '0x16 always 0');
  t.same(await read(0x17, 1), [48]);
  t.same(await read(0x18, 1), [1]);
  t.same(await read(0x19, 4), [0, 0, 0x13, 0x88]);
  t.same(await read(0x1a, 1), [0x0f]);
  t.same(await read(0x50, 4), [0x85, 0xeb, 0x81, 0x3f], 'VIN correction 1.015, little-endian');
  t.same(await read(0x51, 4), [0x50, 0x8d, 0x87, 0x3f]);
  t.same(await read(0x52, 4), [0xa2, 0xc0, 0x4f, 0x3f]);
});

t.test('a read answered at once reads as the bus read does, in an array the next one reuses', async (t) => {
  const { sim } = rig();
  const lengths = [1, 2, 4, 8];
  for (let reg = 0; reg < 0x60; reg++) {
    for (const n of lengths) {
      const now = [...sim.readNow(Uint8Array.of(reg), n)!];
      t.same(now, [...(await sim.writeRead(Uint8Array.of(reg), n))], `0x${reg.toString(16)}, ${n} bytes`);
    }
  }
  // The idle tick's V_in read allocates nothing: the same 2-byte array each time, which the
  // log copies (the bytes logged stay those read).
  const a = sim.readNow(Uint8Array.of(0x20), 2)!;
  const first = [...a];
  const b = sim.readNow(Uint8Array.of(0x21), 2)!; // V_cap, another 2-byte register
  t.equal(b, a, 'the array is reused');
  t.notSame([...b], first, 'now holding the second read');
  const logged = sim.log.filter((e) => e.register === 0x20).at(-1)!;
  t.equal(logged.bytes, Buffer.from(first).toString('hex'), "the log kept the first read's bytes");
  // A bus read's answer is the caller's to keep.
  const kept = await sim.writeRead(Uint8Array.of(0x20), 2);
  t.not(kept, await sim.writeRead(Uint8Array.of(0x20), 2), 'a new array for each bus read');
});

t.test('length rules and which rejected writes still ping', async (t) => {
  const { sim, write, read, u16 } = rig();
  const pings = async (bytes: number[]): Promise<boolean> => {
    const before = sim.processed;
    await write(...bytes);
    return sim.processed > before;
  };
  t.notOk(await pings([0x17]), 'a bare 1-byte write is discarded');
  t.same(await read(0x17, 1), [48], '...and has no effect');
  t.notOk(await pings([0x03, 1, 2, 3]), '0x03 needs exactly 5 bytes');
  t.notOk(await pings([0x1a, 0x01, 0x02]), '0x1A needs exactly 2 bytes');
  t.notOk(await pings([0x50, 1, 2, 3, 4]), '0x50 needs 6 bytes');
  t.notOk(await pings([0x60, ...new Array(30).fill(0)]), '0x60 outside OperationalCoOp is dropped');
  t.notOk(await pings([0x40, 0, 0]), 'short DFU start');
  t.ok(await pings([0x12, 0x01]), '0x12 of the wrong length is ignored but still pings');
  t.equal(await u16(0x12), 0);
  t.ok(await pings([0x13, 0x01]), '0x13 wrong length still pings');
  t.equal(await u16(0x13), 47661);
  t.ok(await pings([0x10, 0x01]), '0x10 ← 1 pings, does nothing');
  t.notOk(await pings(new Array(4106).fill(0x17)), 'a write filling the 4106-byte buffer is rejected');
});

t.test('register writes and their quirks', async (t) => {
  const { sim, write, read, u16 } = rig();
  await write(0x1a, 0xf5);
  t.same(await read(0x1a, 1), [0x05], 'upper 4 bits masked');
  await write(0x17, 40, 99);
  t.same(await read(0x17, 1), [40], 'first data byte used');
  await write(0x18, 0x07);
  t.same(await read(0x18, 1), [1], 'any non-zero byte enables');
  await write(0x19, 0x01);
  t.same(await read(0x19, 4), [1, 0, 0, 0], 'short 0x19 write is zero-extended');
  await write(0x13, 0xba, 0x2e);
  t.equal(await u16(0x13), 47662, '8.0 V written as 47662 reads back 47662');
  await write(0x13, 0x00, 27);
  t.equal(await u16(0x13), 26, 'raw 27 reads back as 26 (float storage)');
  t.equal(sim.snapshot().controller.power_on_threshold, Math.fround(Math.fround(27 / 65535) * 11));
  await write(0x14, 0x80, 0x00);
  t.equal(await u16(0x14), 32768);
  t.equal(sim.snapshot().controller.solo_power_off_threshold, 5.500083923339844);
  await write(0x50, 0x00, 0x00, 0x80, 0x3f, 0x99);
  t.same(await read(0x50, 4), [0, 0, 0x80, 0x3f], 'correction scale stored (never applied)');
  await write(0x03, 0, 6, 0, 0xff);
  t.same(await read(0x03, 4), [0, 6, 0, 0xff]);
  sim.mcuReset();
  t.same(await read(0x03, 4), [0, 0, 0xff, 0xff], 'hardware version not persisted without TEST_MODE');
  t.same(await read(0x50, 4), [0x85, 0xeb, 0x81, 0x3f], 'corrections are never reloaded: the default again');
});

t.test('an over-threshold power-on threshold prevents start-up; 0 starts at once', async (t) => {
  const { clock, sim, write, state } = rig();
  await write(0x13, 0xff, 0xff); // 11 V
  await write(0x10, 0x00);
  await clock.advance(6000);
  t.notOk(['SystemStartup', 'OperationalSolo'].includes(state()), `never starts (${state()})`);
  await clock.advance(20_000);
  t.equal(state(), 'OffCharging');
  await write(0x13, 0, 0);
  await clock.advance(100);
  t.equal(state(), 'SystemStartup');
  void sim;
});

t.test('faults: nack, timeout, stretch, corrupt, ignore, by register and count', async (t) => {
  const { clock, sim, read, write } = rig();
  sim.addFault({ kind: 'nack', registers: [0x20], count: 2 });
  await t.rejects(read(0x20, 2), { name: 'BusError', kind: 'nack' });
  await t.rejects(read(0x20, 2), { name: 'BusError', kind: 'nack' });
  t.ok(
    (await read(0x20, 2)).some((b) => b !== 0),
    'third read succeeds',
  );
  const before = sim.processed;
  sim.addFault({ kind: 'nack', op: 'write' });
  await t.rejects(write(0x17, 10));
  t.equal(sim.processed, before, 'a NACKed transaction does not reach the controller');

  sim.addFault({ kind: 'timeout', delay_ms: 500 });
  const p = read(0x15, 1);
  let settled = false;
  p.catch(() => {}).finally(() => {
    settled = true;
  });
  await clock.advance(499);
  t.notOk(settled, 'still waiting before the delay');
  await clock.advance(1);
  await t.rejects(p, { name: 'BusError', kind: 'timeout' });

  sim.addFault({ kind: 'stretch', delay_ms: 200 });
  const s = read(0x04, 4);
  await clock.advance(200);
  t.same(await s, [3, 3, 1, 0xff], 'stretched read succeeds');

  sim.addFault({ kind: 'corrupt', registers: [0x15] });
  t.same(await read(0x15, 1), [0xff]);
  sim.addFault({ kind: 'ignore', registers: [0x17] });
  await write(0x17, 99);
  t.same(await read(0x17, 1), [48], 'ignored write had no effect');
  const unlimited = sim.addFault({ kind: 'nack', registers: [0x21], count: 0 });
  for (let i = 0; i < 5; i++) await t.rejects(read(0x21, 2));
  t.equal(sim.faults.list().length, 1);
  sim.faults.remove(unlimited.id);
  t.equal(sim.faults.list().length, 0);
});

t.test('a silent controller NACKs everything until it is back', async (t) => {
  const { clock, sim, read } = rig();
  sim.silence(1000);
  await t.rejects(read(0x04, 4), { name: 'BusError', kind: 'nack' });
  await clock.advance(1000);
  t.same(await read(0x04, 4), [3, 3, 1, 0xff]);
});

t.test('hostGated: every transaction fails while the simulated host is off', async (t) => {
  const { clock, sim, read } = rig({ hostGated: true });
  const changes: boolean[] = [];
  sim.onHostChange((on) => changes.push(on));
  sim.start(); // its own periodic catch-up notices host changes without traffic
  t.teardown(() => sim.stop());
  sim.haltHost();
  await clock.advance(2100);
  await t.rejects(read(0x04, 4), { name: 'BusError', kind: 'io' });
  t.same(changes, [false], 'host change reported after the model caught up');
  // The halted host let the controller cut power; auto_restart brings it back after 5 s.
  await clock.advanceUntil(() => changes.length === 2, 15_000, 50);
  t.same(changes, [false, true]);
  t.same(await read(0x04, 4), [3, 3, 1, 0xff], 'answers again once the host runs');
});

t.test('temperatures: PCB updated once per second, sub-zero reads as 373.15 K, zero after reset', async (t) => {
  const { clock, sim, u16 } = rig();
  t.equal(await u16(0x24), 32767, 'T_pcb 303.15 K at start');
  sim.setInputs({ T_pcb: 260 });
  t.equal(await u16(0x24), 65535, 'sub-zero PCB saturates');
  sim.mcuReset();
  t.equal(await u16(0x24), 0, 'reads 0 before the first TMP112 reading');
  await clock.advance(1000);
  t.equal(await u16(0x24), 65535);
  sim.setInputs({ T_mcu: 298.15 });
  t.equal(await u16(0x23), 30426);
});

t.test('a fractional real-time clock never stalls the model (regression: endless catch-up loop)', async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1), 4821.173904);
  const sim = new SimulatedController({ clock, hostGated: true });
  await sim.write(Uint8Array.of(0x30, 0x01));
  sim.haltHost();
  for (let i = 0; i < 2200; i++) {
    await clock.advance(7.3129);
    sim.sync();
  }
  t.equal(sim.state, 'OperationalSolo', 'halted, powered down, auto-restarted and booted again');
});
