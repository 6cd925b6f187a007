// LinuxI2cBus: the Bus seam on /dev/i2c-N through the `i2c-bus` native module (docs/controller.md
// H1–H3). The module is an optional dependency, loaded only when hardware is used, so machines
// without I2C build and test.

import { existsSync } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { BusError, type Bus, type BusErrorKind } from './bus.js';
import { loadI2cBus } from './i2c-loader.js';
import { hex2 } from './registers.js';

/** The part of the `i2c-bus` promise API we use. */
export interface PromisifiedI2c {
  readI2cBlock(
    addr: number,
    cmd: number,
    length: number,
    buffer: Buffer,
  ): Promise<{ bytesRead: number; buffer: Buffer }>;
  i2cWrite(addr: number, length: number, buffer: Buffer): Promise<{ bytesWritten: number; buffer: Buffer }>;
  i2cFuncs(): Promise<{ i2c: boolean; smbusReadI2cBlock: boolean }>;
  close(): Promise<void>;
  /** The synchronous bus underneath. */
  bus?(): { i2cWriteSync(addr: number, length: number, buffer: Buffer): number };
}

export interface I2cModule {
  openPromisified(busNumber: number): Promise<PromisifiedI2c>;
}

/** The device could not be opened (exit 1 in halpid, docs/configuration.md). */
export class I2cOpenError extends Error {
  override name = 'I2cOpenError';
}

/** The native module is missing or does not load. */
export class I2cUnavailableError extends Error {
  override name = 'I2cUnavailableError';
}

export const devicePath = (bus: number): string => `/dev/i2c-${bus}`;

async function loadModule(): Promise<I2cModule> {
  return loadI2cBus();
}

/**
 * The errno name: the addon's own calls (readI2cBlock, i2cFuncs, …) throw with `code` '' and a
 * positive `errno` (message ", Remote I/O error"); its fs calls (i2cWrite) with the name.
 */
function codeOf(err: NodeJS.ErrnoException): string {
  if (err.code) return err.code;
  if (typeof err.errno !== 'number' || err.errno === 0) return '';
  try {
    return getSystemErrorName(-Math.abs(err.errno));
  } catch {
    return '';
  }
}

function kindOf(err: NodeJS.ErrnoException): BusErrorKind {
  const code = codeOf(err);
  if (code === 'ETIMEDOUT') return 'timeout';
  if (code === 'EREMOTEIO' || code === 'ENXIO') return 'nack';
  return 'io';
}

/**
 * The addon's "ETIMEDOUT, Connection timed out" (and ", Remote I/O error" for the errnos node has
 * no name for) as "readI2cBlock: Connection timed out (ETIMEDOUT)".
 */
function messageOf(err: NodeJS.ErrnoException): string {
  const m = /^([A-Z0-9]*), (.+)$/.exec(err.message);
  if (!m) return err.message;
  const code = codeOf(err);
  return `${err.syscall ?? 'i2c'}: ${m[2]}${code ? ` (${code})` : ''}`;
}

const busError = (err: unknown): BusError =>
  new BusError(messageOf(err as NodeJS.ErrnoException), kindOf(err as NodeJS.ErrnoException));

export class LinuxI2cBus implements Bus {
  readonly description: string;

  private constructor(
    private readonly handle: PromisifiedI2c,
    readonly busNumber: number,
    readonly address: number,
  ) {
    this.description = `${devicePath(busNumber)} @ ${hex2(address)}`;
  }

  static async open(
    busNumber: number,
    address: number,
    deps: { load?: () => Promise<I2cModule>; exists?: (path: string) => boolean } = {},
  ): Promise<LinuxI2cBus> {
    const where = `bus ${busNumber}, address ${hex2(address)}`;
    const path = devicePath(busNumber);
    if (!(deps.exists ?? existsSync)(path)) {
      throw new I2cOpenError(`Failed to open I2C device at ${where}: ${path} does not exist`);
    }
    let mod: I2cModule;
    try {
      mod = await (deps.load ?? loadModule)();
    } catch (err) {
      throw new I2cUnavailableError(`I2C support is not available: ${(err as Error).message}`);
    }
    let handle: PromisifiedI2c;
    try {
      handle = await mod.openPromisified(busNumber);
    } catch (err) {
      throw new I2cOpenError(`Failed to open I2C device at ${where}: ${(err as Error).message}`);
    }
    // A device node without a working adapter answers nothing useful (scan() would return [] silently).
    try {
      const funcs = await handle.i2cFuncs();
      if (!funcs.i2c && !funcs.smbusReadI2cBlock)
        throw new Error('the adapter supports neither plain I2C nor I2C block reads');
    } catch (err) {
      await handle.close().catch(() => {});
      throw new I2cOpenError(`Failed to open I2C device at ${where}: ${messageOf(err as NodeJS.ErrnoException)}`);
    }
    return new LinuxI2cBus(handle, busNumber, address);
  }

  async writeRead(data: Uint8Array, length: number): Promise<Uint8Array> {
    const buffer = Buffer.alloc(length);
    try {
      // SMBus "read I2C block data": [reg] without STOP, repeated START, read n — the shape of T1.
      const { bytesRead } = await this.handle.readI2cBlock(this.address, data[0]!, length, buffer);
      if (bytesRead !== length)
        throw Object.assign(new Error(`short read (${bytesRead} of ${length} bytes)`), { code: 'EIO' });
      return new Uint8Array(buffer);
    } catch (err) {
      throw busError(err);
    }
  }

  async write(data: Uint8Array): Promise<void> {
    const buffer = Buffer.from(data);
    try {
      // A plain write(): one message of up to 8192 bytes (a DFU block is 4105).
      const { bytesWritten } = await this.handle.i2cWrite(this.address, buffer.length, buffer);
      if (bytesWritten !== buffer.length)
        throw Object.assign(new Error(`short write (${bytesWritten} of ${buffer.length} bytes)`), { code: 'EIO' });
    } catch (err) {
      throw busError(err);
    }
  }

  writeSync(data: Uint8Array): void {
    const buffer = Buffer.from(data);
    const sync = this.handle.bus?.();
    if (!sync) throw new BusError('no synchronous access to the bus', 'unavailable');
    try {
      sync.i2cWriteSync(this.address, buffer.length, buffer);
    } catch (err) {
      throw busError(err);
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
