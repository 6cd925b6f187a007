// Persisted settings across an MCU reset and across a simulator restart (docs/controller.md).
import t from 'tap';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClock } from '../../../engine/clock.js';
import { SimulatedController } from '../../../engine/simulator/controller.js';
import { rig } from '../../helpers/sim.js';

t.test('persisted values survive an MCU reset; volatile ones do not', async (t) => {
  const { sim, write, read, u16 } = rig();
  await write(0x17, 40);
  await write(0x18, 0);
  await write(0x19, 0, 0, 0x27, 0x10);
  await write(0x13, 0xba, 0x2e);
  await write(0x12, 0x27, 0x10);
  await write(0x1a, 0x03);
  sim.mcuReset();
  t.same(await read(0x17, 1), [40]);
  t.same(await read(0x18, 1), [0]);
  t.same(await read(0x19, 4), [0, 0, 0x27, 0x10]);
  t.equal(await u16(0x13), 47662);
  t.equal(await u16(0x12), 0, '0x12 is volatile');
  t.same(await read(0x1a, 1), [0], 'USB outputs are volatile');
});

t.test('a state file carries settings across a simulator restart, written atomically', async (t) => {
  const dir = t.testdir({});
  const file = join(dir, 'sub', 'sim-state.json');
  const clock = new FakeClock();
  const a = new SimulatedController({ clock, stateFile: file });
  await a.write(Uint8Array.of(0x17, 77));
  await a.write(Uint8Array.of(0x14, 0x80, 0x00));
  const saved = JSON.parse(readFileSync(file, 'utf8'));
  t.equal(saved.led_brightness, 77);
  t.equal(saved.solo_power_off_threshold, 5.500083923339844, 'thresholds persisted as float volts');
  const b = new SimulatedController({ clock, stateFile: file });
  t.same([...(await b.writeRead(Uint8Array.of(0x17), 1))], [77]);
  t.same([...(await b.writeRead(Uint8Array.of(0x14), 2))], [0x80, 0x00]);
});

t.test('TEST_MODE persists the hardware version', async (t) => {
  const dir = t.testdir({});
  const file = join(dir, 'state.json');
  const clock = new FakeClock();
  const a = new SimulatedController({ clock, stateFile: file, testMode: true });
  await a.write(Uint8Array.of(0x03, 0, 6, 0, 0xff));
  a.mcuReset();
  t.same([...(await a.writeRead(Uint8Array.of(0x03), 4))], [0, 6, 0, 0xff]);
  const b = new SimulatedController({ clock, stateFile: file });
  t.same([...(await b.writeRead(Uint8Array.of(0x03), 4))], [0, 6, 0, 0xff]);
});

t.test('an unreadable state file means factory defaults and a warning', async (t) => {
  const dir = t.testdir({ 'bad.json': '{ not json' });
  const warnings: string[] = [];
  const sim = new SimulatedController({
    clock: new FakeClock(),
    stateFile: join(dir, 'bad.json'),
    warn: (m) => warnings.push(m),
  });
  t.same([...(await sim.writeRead(Uint8Array.of(0x17), 1))], [48]);
  t.match(warnings[0], /Cannot parse simulator state file .*bad\.json/);
  const missing = new SimulatedController({
    clock: new FakeClock(),
    stateFile: join(dir, 'none.json'),
    warn: (m) => warnings.push(m),
  });
  t.same([...(await missing.writeRead(Uint8Array.of(0x18), 1))], [1]);
  t.equal(warnings.length, 1, 'a missing file is silent: it is created on the first change');
  writeFileSync(join(dir, 'bad.json'), '{}');
});

t.test(
  'a setting the state file cannot take is refused and stays as it was, with a warning naming the file',
  async (t) => {
    // A directory where the file should be: the save fails for root too (a read-only file does not).
    const dir = t.testdir({ 'state.json': {} });
    const file = join(dir, 'state.json');
    const warnings: string[] = [];
    const sim = new SimulatedController({ clock: new FakeClock(), stateFile: file, warn: (m) => warnings.push(m) });
    warnings.length = 0; // the unreadable file at start-up
    await t.rejects(sim.write(Uint8Array.of(0x17, 77)), {
      message: /^Cannot save simulator state file .*state\.json: .*; the setting is unchanged$/,
    });
    t.same([...(await sim.writeRead(Uint8Array.of(0x17), 1))], [48], 'the value did not change');
    t.equal(warnings.length, 1);
    t.match(warnings[0], /^Cannot save simulator state file .*state\.json/);
    t.same(readdirSync(dir), ['state.json'], 'no temporary file left behind');
    sim.mcuReset();
    t.same([...(await sim.writeRead(Uint8Array.of(0x17), 1))], [48], 'nor after a reset');
  },
);
