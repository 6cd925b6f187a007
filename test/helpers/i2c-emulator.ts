// Test rig: the emulated /dev/i2c-1 (docs/i2c-emulator.md) with its server in this process, so a
// test reaches the simulated controller and the transcript directly. Commands run asynchronously
// (the server answers them from this event loop).
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { RealClock } from '../../engine/clock.js';
import { SimulatedController, type SimulatorOptions } from '../../engine/simulator/controller.js';
import { I2cEmulatorServer, type TranscriptEntry } from '../../engine/simulator/i2c-emulator/server.js';
import { ROOT } from './daemon.js';
import { tempDir } from './tmp.js';

/** The preload library for `arch`, built by the project's script. */
export function emulatorLibrary(arch: 'native' | 'arm64' = 'native'): string {
  const r = spawnSync('bash', [join(ROOT, 'scripts/build-i2c-emulator.sh'), arch], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the emulator failed:\n${r.stderr}`);
  return r.stdout.trim();
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runAsync(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {},
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, NODE_OPTIONS: '', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

export async function startEmulator(opts: { sim?: Partial<SimulatorOptions>; arch?: 'native' | 'arm64' } = {}) {
  const dir = tempDir('i2c-emulator-');
  const sim = new SimulatedController({ clock: new RealClock(), start: 'host-running', hostGated: true, ...opts.sim });
  const server = new I2cEmulatorServer({ controller: sim });
  const socket = join(dir, 'i2c.sock');
  await server.listen(socket);
  const env = { LD_PRELOAD: emulatorLibrary(opts.arch), HALPI2_I2C_EMULATOR: socket, UV_USE_IO_URING: '0' };
  return {
    dir,
    sim,
    server,
    socket,
    env,
    run: (cmd: string, args: string[], more: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}) =>
      runAsync(cmd, args, { ...more, env: { ...env, ...more.env } }),
    close: () => {
      sim.stop();
      return server.close();
    },
  };
}

/**
 * The transfers that have neither shape of docs/controller.md: a read is `[reg]` without STOP,
 * repeated start, read 1–8 bytes (I2C_SMBUS I2C block read); a write one message `[reg, data…]` of
 * 2 to 4105 bytes (write()). Everything to the controller's address.
 */
export function oddTransfers(entries: TranscriptEntry[]): TranscriptEntry[] {
  return entries.filter(
    (e) =>
      !(
        e.msgs.every((m) => m.addr === 0x6d) &&
        ((e.via === 'smbus' &&
          e.msgs.length === 2 &&
          e.msgs[0]!.dir === 'w' &&
          e.msgs[0]!.len === 1 &&
          e.msgs[1]!.dir === 'r' &&
          e.msgs[1]!.len >= 1 &&
          e.msgs[1]!.len <= 8) ||
          (e.via === 'write' &&
            e.msgs.length === 1 &&
            e.msgs[0]!.dir === 'w' &&
            e.msgs[0]!.len >= 2 &&
            e.msgs[0]!.len <= 4105))
      ),
  );
}
