// Running the poweroff and rtcwake commands (docs/configuration.md). Both are behind the
// configuration; on the simulator they are not executed unless asked for: the simulated host
// halts, or the simulated RTC alarm is set, instead.

import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import createDebug from 'debug';
import { childProcess } from './child-process.js';
import { RealClock, type Clock, type TimerHandle } from './clock.js';
import type { EngineActions } from './engine.js';
import type { Logger } from './log.js';
import type { SimulatedController } from './simulator/controller.js';

// Stryker disable next-line all: debug output only
const debug = createDebug('halpid:cmd');

/** An rtcwake failure; the message is the API's error text (docs/api.md). */
export class RtcwakeError extends Error {
  override name = 'RtcwakeError';
}

export interface CommandSettings {
  /** Program name or path of rtcwake. */
  rtcwake: string;
  /** Execute commands even on the simulator (`sim-execute-commands`). */
  simExecuteCommands: boolean;
  /** Seconds the poweroff command may run before it counts as hung (`poweroff-timeout`). */
  poweroffTimeoutS: number;
  /** Run when the poweroff command fails or hangs (`poweroff-fallback`; empty: nothing). */
  poweroffFallback: string;
}

export type SpawnFn = (command: string, args: string[], options: SpawnOptions) => ChildProcess;

export interface CommandOptions {
  logger: Logger;
  settings: () => CommandSettings;
  /** Present when the backend is the simulator. */
  simulator?: SimulatedController;
  rtcwakeTimeoutMs?: number;
  /** Told when the poweroff command (or then its fallback) cannot start, exits non-zero, is killed or hangs (the plugin raises an emergency). */
  onPoweroffFailure?: (reason: string) => void;
  /** Times the poweroff command's timeout (tests use a FakeClock). */
  clock?: Clock;
  /** child_process.spawn; tests replace it to make it fail as it does without file descriptors. */
  spawn?: SpawnFn;
  /** File descriptors kept open on /dev/null and given up when a spawn runs out of them (default 6). */
  reserveFds?: number;
}

export interface CommandActions extends EngineActions {
  /** Close the reserved file descriptors (a test's teardown; the daemon keeps them for life). */
  close(): void;
}

export function commandActions(opts: CommandOptions): CommandActions {
  const { logger } = opts;
  const simulated = (): boolean => opts.simulator !== undefined && !opts.settings().simExecuteCommands;
  const reserve = new FdReserve(opts.reserveFds ?? 6);
  const runner: Runner = {
    logger,
    clock: opts.clock ?? new RealClock(),
    spawn: opts.spawn ?? ((cmd, args, o) => childProcess().spawn(cmd, args, o)),
    reserve,
  };
  const failed = opts.onPoweroffFailure ?? (() => {});
  return {
    poweroff(command: string): void {
      if (simulated()) {
        logger.info(`Simulator: not executing ${command}`);
        opts.simulator!.haltHost();
        return;
      }
      logger.info(`Executing: ${command}`);
      void poweroffWithFallback(runner, command, opts.settings, failed);
    },
    async rtcwake(unixSeconds: number): Promise<void> {
      const program = opts.settings().rtcwake;
      const args = ['-m', 'no', '-t', String(unixSeconds)];
      const line = [program, ...args].join(' ');
      if (simulated()) {
        logger.info(`Simulator: not executing ${line}`);
        opts.simulator!.setRtcAlarm(unixSeconds);
        return;
      }
      logger.info(`Executing: ${line}`);
      await runRtcwake(program, args, opts.rtcwakeTimeoutMs ?? 10_000);
    },
    close: () => reserve.close(),
  };
}

/**
 * A few descriptors held open so that the poweroff can still start when the process has run out
 * (a flood of NUT clients can do that): given up just before the retry, taken again afterwards.
 */
class FdReserve {
  private fds: number[] = [];
  private closed = false;
  constructor(private readonly size: number) {
    this.fill();
  }
  /** Best effort: whatever cannot be taken now is taken on a later call. */
  fill(): void {
    while (!this.closed && this.fds.length < this.size) {
      try {
        this.fds.push(openSync('/dev/null', 'r'));
      } catch (err) {
        // Stryker disable next-line all: debug output only
        debug('fd reserve: %d of %d held (%s)', this.fds.length, this.size, (err as Error).message);
        return;
      }
    }
  }
  /** Close them all; returns how many were held. */
  release(): number {
    const n = this.fds.length;
    for (const fd of this.fds) {
      try {
        closeSync(fd);
      } catch {
        // ours and open: cannot fail, and must not stop the poweroff if it did
      }
    }
    this.fds = [];
    return n;
  }
  /** For good: a command still running takes nothing back when it ends. */
  close(): void {
    this.closed = true;
    this.release();
  }
}

interface Runner {
  logger: Logger;
  clock: Clock;
  spawn: SpawnFn;
  reserve: FdReserve;
}

type Outcome = { ok: true } | { ok: false; reason: string };

async function poweroffWithFallback(
  r: Runner,
  command: string,
  settings: () => CommandSettings,
  failed: (reason: string) => void,
): Promise<void> {
  const s = settings();
  const timeoutMs = s.poweroffTimeoutS * 1000;
  const first = await runCarefully(r, { name: 'Poweroff command', tag: 'poweroff', command, timeoutMs });
  if (first.ok) return;
  failed(first.reason);
  const fallback = settings().poweroffFallback;
  if (!fallback) {
    r.logger.error('No poweroff-fallback is configured: the host stays up until the controller cuts the power');
    return;
  }
  r.logger.warn(`Executing poweroff fallback: ${fallback}`);
  const second = await runCarefully(r, {
    name: 'Poweroff fallback',
    tag: 'poweroff-fallback',
    command: fallback,
    timeoutMs,
  });
  if (!second.ok) failed(`fallback ${second.reason}`);
}

const outOfFds = (err: unknown): boolean => {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
};

/**
 * Run `sh -c command`: never throws, resolves once the command exited, could not start or hung
 * past the timeout (a hung command is left running: it may still be syncing a disk, and the
 * fallback runs alongside). The error handler comes first and stdout is only touched when it
 * exists; when the process is out of descriptors the reserve is given up and the spawn retried
 * at once with every stdio ignored, which needs the fewest.
 */
function runCarefully(
  r: Runner,
  job: { name: string; tag: string; command: string; timeoutMs: number },
): Promise<Outcome> {
  const { logger } = r;
  return new Promise((resolve) => {
    let settled = false;
    let timer: TimerHandle | null = null;
    const finish = (outcome: Outcome, line?: string): void => {
      if (settled) return;
      settled = true;
      if (timer) r.clock.clearTimeout(timer);
      if (line) logger.error(line);
      r.reserve.fill();
      resolve(outcome);
    };
    const cannotStart = (err: Error): void =>
      finish(
        { ok: false, reason: `cannot start: ${err.message}` },
        `Failed to execute ${job.name.toLowerCase()}: ${err.message}`,
      );
    // A broken output pipe is no reason to fail (the exit decides), nor to crash.
    // Stryker disable next-line all: debug output only
    const outputError = (err: Error): void => debug('%s: output: %s', job.tag, err.message);
    const lines = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logger.info(`${job.tag}: ${line}`);
    };

    const attempt = (lean: boolean): void => {
      let spawned = false;
      let failedToStart = false;
      let child: ChildProcess;
      const stdio: SpawnOptions['stdio'] = lean ? 'ignore' : ['ignore', 'pipe', 'pipe'];
      try {
        child = r.spawn('/bin/sh', ['-c', job.command], { stdio });
      } catch (err) {
        if (!lean && outOfFds(err)) return retry(err as Error);
        return cannotStart(err as Error);
      }
      child.on('error', (err) => {
        // Stryker disable next-line all: debug output only
        debug('%s: error %o', job.tag, err);
        if (!spawned) failedToStart = true; // its 'close' (with the errno as code) follows: not an exit
        if (settled) return;
        if (!spawned && !lean && outOfFds(err)) return retry(err);
        if (!spawned) return cannotStart(err);
        // after the start (a failed kill, a pipe error): the exit still decides
      });
      child.on('spawn', () => {
        spawned = true;
      });
      for (const stream of [child.stdout, child.stderr]) {
        stream?.on('data', lines);
        stream?.on('error', outputError);
      }
      child.on('close', (code, signal) => {
        // Stryker disable next-line all: debug output only
        debug('%s exited with %s %s', job.tag, code, signal);
        if (failedToStart) return;
        if (settled) {
          logger.info(`${job.name} ended after its timeout (${signal ? `signal ${signal}` : `code ${code}`})`);
          return;
        }
        if (code === 0) {
          logger.info(`${job.name} exited with code 0`);
          finish({ ok: true });
        } else if (signal) finish({ ok: false, reason: `killed by ${signal}` }, `${job.name} was killed by ${signal}`);
        else
          finish(
            { ok: false, reason: `exited with code ${code}` },
            `${job.name} exited with code ${code}${code === 127 ? ' (command not found)' : ''}`,
          );
      });
    };

    const retry = (err: Error): void => {
      const freed = r.reserve.release();
      logger.error(
        `${job.name} could not start (${err.message}); retrying with ${freed} reserved file descriptor${freed === 1 ? '' : 's'} freed`,
      );
      attempt(true);
      r.reserve.fill(); // the spawn has returned: its descriptors are free again
    };

    timer = r.clock.setTimeout(() => {
      finish(
        { ok: false, reason: `did not finish within ${job.timeoutMs / 1000} s` },
        `${job.name} did not finish within ${job.timeoutMs / 1000} s`,
      );
    }, job.timeoutMs);
    attempt(false);
  });
}

function runRtcwake(program: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    childProcess().execFile(program, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
      // Stryker disable next-line all: debug output only
      debug('rtcwake failed: %o', e);
      if (e.killed) return reject(new RtcwakeError(`rtcwake failed: timed out after ${timeoutMs / 1000} s`));
      if (typeof e.code === 'number') return reject(new RtcwakeError(`rtcwake failed: ${stderr}`));
      reject(new RtcwakeError(`Failed to execute rtcwake: ${e.message}`));
    });
  });
}
