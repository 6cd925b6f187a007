// halpid after its entry (main.ts): parses argv (usage errors exit 2), starts the daemon, and maps
// signals to reload and cleanup (docs/configuration.md).

import createDebug from 'debug';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childProcess } from '../engine/child-process.js';
import { parseFlagValue, type DaemonConfig } from '../engine/config-keys.js';
import { VERSION } from '../engine/version.js';
import { commanderArgs, plainArgs } from './args.js';
import type { Daemon } from './daemon.js';
import { createLogger } from './log.js';
import { findPanelDir } from './panel-dir.js';
import { tuneForTicks } from './v8-tuning.js';

/**
 * Run once the daemon has run a second, before V8's flags change (v8-tuning.ts): the built entry
 * saves its code cache then, since V8 ties a cache to the flags it was made under. What each
 * returns goes to `DEBUG=halpid:start`.
 */
export const beforeTuning: Array<() => string> = [];
const startDebug = createDebug('halpid:start');

let daemonModule: Promise<typeof import('./daemon.js')> | null = null;

/** Parse argv. Flag values are collected as text and checked once the line is read. */
async function parseArgs(argv: string[]): Promise<{ files: string[]; flags: Partial<DaemonConfig>; check: boolean }> {
  const flags: Partial<DaemonConfig> = {};
  const o = plainArgs(argv.slice(2)) ?? (await commanderArgs(argv));
  // The daemon's code is fetched while the flags are checked (settled below, where it is awaited;
  // a usage error exits first).
  if (o.configCheck !== true) {
    daemonModule = import('./daemon.js');
    daemonModule.catch(() => {});
  }
  for (const [key, text] of o.raw) (flags as Record<string, unknown>)[key] = parseFlagValue(key, text);
  if (o.dryRun !== undefined) flags['dry-run'] = o.dryRun;
  if (o.simExecuteCommands !== undefined) flags['sim-execute-commands'] = o.simExecuteCommands;
  if (o.backend) flags.backend = o.backend as DaemonConfig['backend'];
  if (o.simulate) flags.backend = 'simulator';
  if (o.apiCompat) flags['api-compat'] = Number(o.apiCompat) as 4 | 5;
  return { files: o.conf, flags, check: o.configCheck === true };
}

/** --config-check: every problem of the files and flags, then the effective settings as YAML. */
async function configCheck(files: string[], flags: Partial<DaemonConfig>): Promise<number> {
  const { configYaml, loadConfig } = await import('../engine/config.js');
  const loaded = loadConfig({ files, flags });
  if (loaded.errors.length === 0) {
    // A configured command that is missing is an error; the default one only a warning: halpid
    // may be checked on a machine other than the one it will run on (docs/configuration.md).
    const { commandsWouldRun, poweroffCommandChecks } = await import('../engine/command-check.js');
    const checks = commandsWouldRun(loaded.config) ? poweroffCommandChecks(loaded.config, loaded.explicit) : [];
    for (const c of checks) {
      if (c.explicit) loaded.errors.push(`halpid: ${c.key}: ${c.problem}`);
      else loaded.warnings.push(`halpid: warning: ${c.key}: ${c.problem} (the default value)`);
    }
  }
  for (const line of [...loaded.warnings, ...loaded.errors]) process.stderr.write(`${line}\n`);
  if (loaded.errors.length > 0) {
    process.stderr.write(
      `halpid: configuration refused (${loaded.errors.length} error${loaded.errors.length === 1 ? '' : 's'})\n`,
    );
    return 1;
  }
  const from = loaded.files.length ? loaded.files.join(', ') : 'no file (defaults)';
  process.stdout.write(
    `# halpid ${VERSION} would run with these settings (from ${from}${Object.keys(flags).length ? ' and the flags' : ''}):\n`,
  );
  process.stdout.write(configYaml(loaded.config));
  return 0;
}

async function main(): Promise<void> {
  let args;
  try {
    args = await parseArgs(process.argv);
  } catch (err) {
    if ((err as Error).name === 'UsageError') {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (args.check) process.exit(await configCheck(args.files, args.flags));
  const logger = createLogger();
  // The built panel: the package's public/ (also what Signal K serves as the webapp), or beside the
  // bundle in the Debian package (/usr/lib/halpid/public). This code may sit in a bundle
  // (dist/bin/, /usr/lib/halpid/) or not (dist/standalone/), so look a few folders up rather than at a fixed depth.
  const panelDir = findPanelDir(dirname(fileURLToPath(import.meta.url)));
  let daemon: Daemon | null = null;
  let exiting = false;
  const exit = async (signal: string): Promise<void> => {
    if (!daemon) {
      logger.info(`Received ${signal}`);
      process.exit(0);
    }
    if (exiting) {
      // The daemon decides: a second signal ends a stop that waits for a blackout's outcome.
      void daemon.stop(signal);
      return;
    }
    exiting = true;
    process.exit(await daemon.stop(signal));
  };
  process.on('SIGINT', () => void exit('SIGINT'));
  process.on('SIGTERM', () => void exit('SIGTERM'));
  process.on('SIGHUP', () => {
    if (daemon && !exiting)
      daemon.reload().catch((err: Error) => logger.error(`Configuration reload failed: ${err.message}`));
  });
  const crash = (err: unknown): void => {
    logger.error(`Uncaught exception: ${(err as Error)?.stack ?? String(err)}`);
    // Best effort: never leave the watchdog armed, then let systemd restart us.
    const stop = daemon ? daemon.engine.stop() : Promise.resolve();
    const timer = setTimeout(() => process.exit(1), 2000);
    void stop.finally(() => {
      clearTimeout(timer);
      process.exit(1);
    });
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  // Loaded only now: --help and --version need none of it.
  const { Daemon, StartupError } = await (daemonModule ?? import('./daemon.js'));
  try {
    daemon = await Daemon.start({ files: args.files, flags: args.flags, logger, panelDir });
    tuneForTicks(() => {
      for (const f of beforeTuning) startDebug(f());
      // Loaded now rather than at the start (engine/child-process.ts): a blackout's poweroff
      // then finds it ready.
      childProcess();
    });
  } catch (err) {
    if (err instanceof StartupError) process.exit(err.code);
    throw err;
  }
}

void main();
