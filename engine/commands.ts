// Running the poweroff and rtcwake commands (docs/configuration.md). Both are behind the
// configuration; on the simulator they are not executed unless asked for: the simulated host
// halts, or the simulated RTC alarm is set, instead.

import { execFile, spawn } from 'node:child_process';
import createDebug from 'debug';
import type { EngineActions } from './engine.js';
import type { Logger } from './log.js';
import type { SimulatedController } from './simulator/controller.js';

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
}

export interface CommandOptions {
  logger: Logger;
  settings: () => CommandSettings;
  /** Present when the backend is the simulator. */
  simulator?: SimulatedController;
  rtcwakeTimeoutMs?: number;
  /** Told when the poweroff command cannot start or exits non-zero (the plugin raises an emergency). */
  onPoweroffFailure?: (reason: string) => void;
}

export function commandActions(opts: CommandOptions): EngineActions {
  const { logger } = opts;
  const simulated = (): boolean => opts.simulator !== undefined && !opts.settings().simExecuteCommands;
  return {
    poweroff(command: string): void {
      if (simulated()) {
        logger.info(`Simulator: not executing ${command}`);
        opts.simulator!.haltHost();
        return;
      }
      logger.info(`Executing: ${command}`);
      runPoweroff(command, logger, opts.onPoweroffFailure ?? (() => {}));
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
  };
}

function runPoweroff(command: string, logger: Logger, failed: (reason: string) => void): void {
  let child;
  try {
    child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    logger.error(`Failed to execute poweroff command: ${(err as Error).message}`);
    failed((err as Error).message);
    return;
  }
  const lines = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logger.info(`poweroff: ${line}`);
  };
  child.stdout.on('data', lines);
  child.stderr.on('data', lines);
  child.on('error', (err) => {
    logger.error(`Failed to execute poweroff command: ${err.message}`);
    failed(err.message);
  });
  child.on('close', (code) => {
    debug('poweroff exited with %s', code);
    if (code === 0) logger.info('Poweroff command exited with code 0');
    else {
      logger.warn(`Poweroff command exited with code ${code}`);
      failed(`exited with code ${code}`);
    }
  });
}

function runRtcwake(program: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
      debug('rtcwake failed: %o', e);
      if (e.killed) return reject(new RtcwakeError(`rtcwake failed: timed out after ${timeoutMs / 1000} s`));
      if (typeof e.code === 'number') return reject(new RtcwakeError(`rtcwake failed: ${stderr}`));
      reject(new RtcwakeError(`Failed to execute rtcwake: ${e.message}`));
    });
  });
}
