// Backend selection (docs/configuration.md): the real controller on /dev/i2c-<bus>, or the
// simulator. `auto` falls back to the simulator only when the device node does not exist.

import { existsSync } from 'node:fs';
import type { Bus } from './bus.js';
import type { Clock } from './clock.js';
import { devicePath, I2cOpenError, LinuxI2cBus } from './i2c-bus.js';
import type { Logger } from './log.js';
import { SimulatedController } from './simulator/controller.js';

export type BackendChoice = 'auto' | 'i2c' | 'simulator';

export interface OpenedBackend {
  kind: 'i2c' | 'simulator';
  bus: Bus;
  simulator?: SimulatedController;
}

/** Opening failed; the message is the daemon's fatal error line. */
export class BackendError extends Error {
  override name = 'BackendError';
}

export async function openBackend(opts: {
  backend: BackendChoice;
  i2cBus: number;
  i2cAddr: number;
  simStateFile?: string;
  clock: Clock;
  logger: Logger;
  exists?: (path: string) => boolean;
  openI2c?: typeof LinuxI2cBus.open;
}): Promise<OpenedBackend> {
  const path = devicePath(opts.i2cBus);
  let kind = opts.backend;
  if (kind === 'auto') {
    if ((opts.exists ?? existsSync)(path)) {
      kind = 'i2c';
    } else {
      opts.logger.warn(`${path} not found; using the simulated HALPI2 controller`);
      kind = 'simulator';
    }
  } else if (kind === 'simulator') {
    opts.logger.warn('Using the simulated HALPI2 controller; no hardware is accessed');
  }
  if (kind === 'simulator') {
    const simulator = new SimulatedController({
      clock: opts.clock,
      start: 'host-running',
      hostGated: true,
      stateFile: opts.simStateFile || undefined,
      warn: (m) => opts.logger.warn(m),
    });
    return { kind: 'simulator', bus: simulator, simulator };
  }
  try {
    const bus = await (opts.openI2c ?? LinuxI2cBus.open)(
      opts.i2cBus,
      opts.i2cAddr,
      opts.exists ? { exists: opts.exists } : {},
    );
    opts.logger.info('Opened I2C device');
    return { kind: 'i2c', bus };
  } catch (err) {
    if (err instanceof I2cOpenError) throw new BackendError(`Failed to open I2C device: ${err.message}`);
    throw new BackendError((err as Error).message);
  }
}
