// Test rig: a fake clock, a simulated controller and raw transaction helpers.
import { FakeClock } from '../../engine/clock.js';
import { SimulatedController, type SimulatorOptions } from '../../engine/simulator/controller.js';

export function rig(opts: Partial<SimulatorOptions> = {}) {
  const clock = new FakeClock();
  const sim = new SimulatedController({ clock, sectorEraseMs: 0, blockProgramMs: 0, swapMs: 0, ...opts });
  const read = async (reg: number, len: number): Promise<number[]> => [
    ...(await sim.writeRead(Uint8Array.of(reg), len)),
  ];
  const u16 = async (reg: number): Promise<number> => {
    const [a, b] = await read(reg, 2);
    return a! * 256 + b!;
  };
  const write = (...bytes: number[]): Promise<void> => sim.write(Uint8Array.from(bytes));
  const state = (): string => sim.state;
  return { clock, sim, read, u16, write, state };
}
