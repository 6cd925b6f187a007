// Which mode runs (docs/signalk.md): a halpid answering on the socket makes a client; else a
// usable /dev/i2c-<bus> with the controller answering makes an engine. Never two owners of the bus.

import { accessSync, constants, existsSync } from 'node:fs';
import type { Bus } from '../engine/bus.js';
import { RealClock } from '../engine/clock.js';
import { Device } from '../engine/device.js';
import { devicePath, I2cUnavailableError, LinuxI2cBus } from '../engine/i2c-bus.js';
import { halpidRequest } from './client-source.js';

export const PROBE_TIMEOUT_MS = 2000;

export interface ModeDeps {
  request?: typeof halpidRequest;
  exists?: (path: string) => boolean;
  /** Throws like fs.accessSync when the device cannot be read and written. */
  access?: (path: string) => void;
  openI2c?: (bus: number, address: number) => Promise<Bus>;
}

export type HalpidProbe = { ok: true; version: string } | { ok: false; reason: string };

/** `GET /version` on the socket with a short timeout. */
export async function probeHalpid(socketPath: string, deps: ModeDeps = {}): Promise<HalpidProbe> {
  try {
    const r = await (deps.request ?? halpidRequest)(socketPath, 'GET', '/version', undefined, PROBE_TIMEOUT_MS);
    if (r.status !== 200) return { ok: false, reason: `GET /version answered ${r.status}` };
    let version = 'unknown';
    try {
      const j = JSON.parse(r.text) as { daemon_version?: unknown };
      if (typeof j.daemon_version === 'string') version = j.daemon_version;
    } catch {
      // an answer is an answer
    }
    return { ok: true, version };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return { ok: false, reason: 'no socket' };
    if (e.code === 'ECONNREFUSED') return { ok: false, reason: 'connection refused' };
    if (e.code === 'EACCES') return { ok: false, reason: 'permission denied' };
    return { ok: false, reason: e.message };
  }
}

export type DeviceProbe =
  { ok: true; bus: Bus; firmware: string } | { ok: false; reason: string; permission?: boolean; noModule?: boolean };

/**
 * The one-line status when the native i2c-bus module does not load. The App Store installs with
 * `npm --ignore-scripts`, so the module is there but never built; the error of `bindings` that
 * says so is 14 lines of paths.
 */
export function noI2cModule(message: string, bus: number): string {
  const fix = /bindings file|NODE_MODULE_VERSION|invalid ELF|wrong ELF/i.test(message)
    ? 'cd ~/.signalk && npm rebuild i2c-bus' // installed, not built (or built for another Node.js)
    : 'cd ~/.signalk && npm install i2c-bus@5.2.3'; // not installed at all
  return (
    `Cannot drive the controller on /dev/i2c-${bus}: the i2c-bus module is not built (the App Store installs plugins without build scripts). ` +
    `Install halpid and use mode "client", or build it with "${fix}" (needs python3, make and g++) and restart Signal K.`
  );
}

/** Open `/dev/i2c-<bus>` and read the firmware version (register 0x04); the bus stays open on success. */
export async function probeDevice(busNumber: number, address: number, deps: ModeDeps = {}): Promise<DeviceProbe> {
  const path = devicePath(busNumber);
  if (!(deps.exists ?? existsSync)(path)) return { ok: false, reason: 'no such device' };
  try {
    (deps.access ?? ((p: string) => accessSync(p, constants.R_OK | constants.W_OK)))(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EACCES' || e.code === 'EPERM') {
      return {
        ok: false,
        permission: true,
        reason: `Permission denied on ${path}: add the Signal K server's user to the 'i2c' group`,
      };
    }
    return { ok: false, reason: e.message };
  }
  let bus: Bus;
  try {
    bus = await (deps.openI2c ?? ((b, a) => LinuxI2cBus.open(b, a)))(busNumber, address);
  } catch (err) {
    if (err instanceof I2cUnavailableError)
      return { ok: false, noModule: true, reason: noI2cModule(err.message, busNumber) };
    return { ok: false, reason: (err as Error).message };
  }
  try {
    const firmware = await new Device(bus, new RealClock()).readFirmwareVersion();
    return { ok: true, bus, firmware };
  } catch (err) {
    await bus.close().catch(() => {});
    return { ok: false, reason: `the controller does not answer: ${(err as Error).message}` };
  }
}

/** The error status of `auto` when nothing works. */
export const nothingFound = (socket: string, halpid: string, bus: number, device: string): string =>
  `No halpid answered at ${socket} (${halpid}) and no HALPI2 controller was found on /dev/i2c-${bus} (${device}). ` +
  'Install and start halpid, or set mode to "simulator" for a demonstration.';
