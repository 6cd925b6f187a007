// Is the program of a configured command line there? Checked at start-up and by --config-check
// (docs/configuration.md), so a poweroff command that cannot run is found before a blackout needs it.

import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { ConfigKey, DaemonConfig } from './config-keys.js';
import { devicePath } from './i2c-bus.js';

/** First words the shell runs itself, or that make the program impossible to tell without a shell. */
const SHELL_WORDS = new Set([
  ':',
  '.',
  '!',
  '{',
  '(',
  '[',
  'cd',
  'echo',
  'eval',
  'exec',
  'exit',
  'false',
  'if',
  'for',
  'printf',
  'set',
  'source',
  'test',
  'true',
  'while',
  'case',
  'until',
]);

/**
 * What is wrong with the program of `command` (its first word, searched in PATH unless it holds
 * a '/'), or null when it exists and is executable, or when the shell decides (a builtin, a
 * quoted or expanded word, a variable assignment): those are not second-guessed.
 */
export function commandProblem(command: string, path = process.env.PATH ?? ''): string | null {
  const program = command.trim().split(/\s+/)[0] ?? '';
  if (program === '' || SHELL_WORDS.has(program) || /["'`$\\=;&|<>(){}*?~]/.test(program)) return null;
  if (program.includes('/')) return fileProblem(program);
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    if (fileProblem(join(dir, program)) === null) return null;
  }
  return `${program} is not found in PATH (${path})`;
}

function fileProblem(file: string): string | null {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    return `${file} does not exist`;
  }
  if (!stat.isFile()) return `${file} is not a file`;
  try {
    accessSync(file, constants.X_OK);
  } catch {
    return `${file} is not executable`;
  }
  return null;
}

export interface CommandCheck {
  key: 'poweroff' | 'poweroff-fallback';
  /** The log line's subject, e.g. `Poweroff command /sbin/poweroff`. */
  subject: string;
  problem: string;
  /** The key was set in a file or a flag (not the default). */
  explicit: boolean;
}

/** Problems of the poweroff command and its fallback; empty commands (run nothing) are not checked. */
export function poweroffCommandChecks(
  config: DaemonConfig,
  explicit: ReadonlySet<ConfigKey>,
  path?: string,
): CommandCheck[] {
  const out: CommandCheck[] = [];
  for (const [key, name] of [
    ['poweroff', 'Poweroff command'],
    ['poweroff-fallback', 'Poweroff fallback'],
  ] as const) {
    const command = config[key];
    if (command.trim() === '') continue;
    const problem = commandProblem(command, path);
    if (problem) out.push({ key, subject: `${name} ${command}`, problem, explicit: explicit.has(key) });
  }
  return out;
}

/** Whether halpid would run the commands at all: not on the simulator unless told to (`auto` as at start-up). */
export function commandsWouldRun(config: DaemonConfig, exists: (path: string) => boolean = existsSync): boolean {
  if (config['sim-execute-commands']) return true;
  if (config.backend === 'auto') return exists(devicePath(config['i2c-bus']));
  return config.backend === 'i2c';
}
