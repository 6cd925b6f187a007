// A bus over the simulator that answers at once (Bus.readNow) as the simulator does, except where a
// test scripts a register: a bus error (thrown at once by readNow, rejected by writeRead) or other
// bytes. Every read is logged as `now 0x22` or `async 0x22`. `readNow: false` makes it a bus
// without readNow, as the real adapter is.
import type { Bus } from '../../engine/bus.js';
import type { SimulatedController } from '../../engine/simulator/controller.js';

export type Script = (reg: number) => Error | Uint8Array | undefined;

export function nowBus(sim: SimulatedController, script: Script = () => undefined, opts: { readNow?: boolean } = {}) {
  const log: string[] = [];
  const hex = (reg: number) => `0x${reg.toString(16).padStart(2, '0')}`;
  const bus: Bus = {
    description: 'the simulator, scripted',
    writeRead(data, length) {
      log.push(`async ${hex(data[0]!)}`);
      const s = script(data[0]!);
      if (s instanceof Error) return Promise.reject(s);
      return s ? Promise.resolve(s) : sim.writeRead(data, length);
    },
    write: (data) => sim.write(data),
    close: async () => {},
  };
  if (opts.readNow !== false)
    bus.readNow = (data, length) => {
      log.push(`now ${hex(data[0]!)}`);
      const s = script(data[0]!);
      if (s instanceof Error) throw s;
      return s ?? sim.readNow(data, length);
    };
  return { bus, log };
}
