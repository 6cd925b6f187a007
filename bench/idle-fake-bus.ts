// The engine alone on a fixed-register fake bus, for the idle-CPU row of `npm run bench`: what
// the daemon's own tick costs with a real controller's answers and no simulated physics behind
// them. Runs until SIGTERM. It lowers V8's interrupt budget as the daemon does once it runs
// (standalone/v8-tuning.ts), so its row measures the same tick, optimised alike.

import type { Bus } from '../engine/bus.js';
import { Engine } from '../engine/engine.js';
import { tuneForTicks } from '../standalone/v8-tuning.js';

const REGISTERS: Record<number, number[]> = {
  0x03: [0, 0, 0xff, 0xff],
  0x04: [3, 3, 1, 0xff],
  0x10: [1],
  0x12: [0x27, 0x10],
  0x15: [4],
  0x16: [0],
  0x1a: [0x0f],
  0x20: [0x4e, 0x20],
  0x21: [0xee, 0x48],
  0x22: [0x1b, 0x58],
  0x23: [0x88, 0xb8],
  0x24: [0x80, 0xe8],
  0x25: [0xe6, 0x61, 0x64, 0x84, 0x0b, 0xce, 0x75, 0x21],
};

// Every answer made once, by length and register (zeros past a register's bytes, and for one
// it does not have): the row measures the engine's tick, not a bus that allocates and copies.
const MAX_LENGTH = 8;
const TABLE: Uint8Array[][] = Array.from({ length: MAX_LENGTH + 1 }, (_, n) => {
  const zeros = new Uint8Array(n);
  return Array.from({ length: 256 }, (_, reg) => {
    const bytes = REGISTERS[reg];
    if (!bytes) return zeros;
    const out = new Uint8Array(n);
    out.set(bytes.slice(0, n));
    return out;
  });
});

const answer = (data: Uint8Array, length: number): Uint8Array =>
  length <= MAX_LENGTH ? TABLE[length]![data[0]!]! : new Uint8Array(length);

const bus: Bus = {
  description: 'fixed registers',
  async writeRead(data, length) {
    return answer(data, length).slice(); // the caller's to keep
  },
  // A fixed bus answers at once, as the simulator does, in arrays it keeps (Bus.readNow).
  readNow: answer,
  async write() {},
  async close() {},
};

const engine = new Engine({
  bus,
  backend: 'i2c',
  settings: { blackoutTimeLimitS: 5, blackoutVoltageLimitV: 9, dryRun: true, poweroffCommand: '' },
  actions: { poweroff: () => {}, rtcwake: async () => {} },
});
engine.start();
tuneForTicks();
process.on('SIGTERM', () => void engine.stop().then(() => process.exit(0)));
console.log('ready');
