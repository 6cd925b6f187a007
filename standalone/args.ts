// halpid's command line. The line systemd runs (none at all) and any made only of long options
// with their values (`--socket /run/x.sock`, `--poweroff=…`, `--simulate`) are read here without
// commander, whose loading is a tenth of the daemon's start (docs/performance.md); anything else
// (help, the version, short options, a value that starts with a dash, an unknown option or value,
// an argument) goes through commander, which says what is wrong. Both give the same result
// (test/standalone/args.test.ts holds them to it for every option).

import type { Command } from 'commander';
import type { ConfigKey } from '../engine/config-keys.js';
import { VERSION } from '../engine/version.js';

/** The command line as read, flag values still as text (checked by the caller). */
export interface Args {
  conf: string[];
  raw: Array<[ConfigKey, string]>;
  dryRun?: boolean;
  simExecuteCommands?: boolean;
  backend?: string;
  simulate?: boolean;
  apiCompat?: string;
  configCheck?: boolean;
}

/** Long options taking a setting's value, by the setting they set. */
const VALUES: Record<string, ConfigKey> = {
  '--i2c-bus': 'i2c-bus',
  '--i2c-addr': 'i2c-addr',
  '--blackout-time-limit': 'blackout-time-limit',
  '--blackout-voltage-limit': 'blackout-voltage-limit',
  '--socket': 'socket',
  '--socket-group': 'socket-group',
  '--poweroff': 'poweroff',
  '--poweroff-timeout': 'poweroff-timeout',
  '--poweroff-fallback': 'poweroff-fallback',
  '--rtcwake': 'rtcwake',
  '--sim-state-file': 'sim-state-file',
  '--web': 'web',
  '--nut': 'nut-listen',
};
const SWITCHES: Record<string, Partial<Args>> = {
  '--dry-run': { dryRun: true },
  '--no-dry-run': { dryRun: false },
  '--simulate': { simulate: true },
  '--sim-execute-commands': { simExecuteCommands: true },
  '--no-sim-execute-commands': { simExecuteCommands: false },
  '--config-check': { configCheck: true },
};
const CHOICES: Record<string, { name: 'backend' | 'apiCompat'; choices: string[] }> = {
  '--backend': { name: 'backend', choices: ['auto', 'i2c', 'simulator'] },
  '--api-compat': { name: 'apiCompat', choices: ['5', '4'] },
};

/** `args` (argv without node and the script) read without commander, or null when it needs commander. */
export function plainArgs(args: string[]): Args | null {
  const out: Args = { conf: [], raw: [] };
  for (let i = 0; i < args.length; i++) {
    let name = args[i]!;
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (name.startsWith('--') && eq > 2) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const sw = SWITCHES[name];
    if (sw) {
      if (value !== undefined) return null;
      Object.assign(out, sw);
      continue;
    }
    if (name !== '--conf' && !VALUES[name] && !CHOICES[name]) return null;
    if (value === undefined) {
      value = args[++i];
      if (value === undefined || value.startsWith('-')) return null;
    }
    const choice = CHOICES[name];
    if (name === '--conf') out.conf.push(value);
    else if (choice) {
      if (!choice.choices.includes(value)) return null;
      out[choice.name] = value;
    } else out.raw.push([VALUES[name]!, value]);
  }
  return out;
}

/** halpid's options as commander declares them (its help, its errors). */
export function program(commander: typeof import('commander'), args: Args): Command {
  const { Command, Option } = commander;
  const value = (key: ConfigKey) => (text: string) => {
    args.raw.push([key, text]);
    return text;
  };
  return new Command('halpid')
    .description('HALPI2 power monitor and watchdog daemon')
    .helpOption('-h, --help', 'show this help')
    .version(`halpid ${VERSION}`, '-V, --version', 'print the version')
    .option(
      '-c, --conf <file>',
      'configuration file (repeatable; later files override earlier ones)',
      (f: string, acc: string[]) => [...acc, f],
      [] as string[],
    )
    .option('--i2c-bus <n>', 'I2C bus number', value('i2c-bus'))
    .option('--i2c-addr <n>', 'controller address, decimal or 0x hex', value('i2c-addr'))
    .option('--blackout-time-limit <s>', 'seconds of blackout before shutting down', value('blackout-time-limit'))
    .option(
      '--blackout-voltage-limit <v>',
      'input voltage below which power counts as lost',
      value('blackout-voltage-limit'),
    )
    .option('-s, --socket <path>', 'Unix socket of the HTTP API', value('socket'))
    .option('-g, --socket-group <group>', 'group owning the socket (name or gid)', value('socket-group'))
    .option('--poweroff <command>', 'shell command that powers the machine off ("" = none)', value('poweroff'))
    .option(
      '--poweroff-timeout <s>',
      'seconds before a poweroff command that has not exited counts as hung',
      value('poweroff-timeout'),
    )
    .option(
      '--poweroff-fallback <command>',
      'shell command run when the poweroff command fails or hangs ("" = none)',
      value('poweroff-fallback'),
    )
    .option('--rtcwake <command>', 'rtcwake program', value('rtcwake'))
    .option('-n, --dry-run', 'log instead of shutting down')
    .option('--no-dry-run', 'shut down for real')
    .addOption(new Option('--backend <backend>', 'controller backend').choices(['auto', 'i2c', 'simulator']))
    .option('--simulate', 'short for --backend simulator')
    .addOption(new Option('--api-compat <dialect>', 'HTTP API dialect').choices(['5', '4']))
    .option('--sim-state-file <path>', 'simulator settings file ("" = memory only)', value('sim-state-file'))
    .option('--sim-execute-commands', 'run poweroff and rtcwake even on the simulator')
    .option('--no-sim-execute-commands', 'do not run poweroff and rtcwake on the simulator')
    .option('--web <host:port>', 'serve the web panel and the API under /api on this address', value('web'))
    .option(
      '--nut <[host:]port>',
      'serve the Network UPS Tools protocol (UPS halpi2) on this address',
      value('nut-listen'),
    )
    .option(
      '--config-check',
      'check the configuration files and flags, print the settings halpid would run with and every warning, and exit (1 on errors)',
    )
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
}

/** The command line read by commander: help and version printed, usage errors with exit code 2. */
export async function commanderArgs(argv: string[]): Promise<Args> {
  const commander = await import('commander');
  const args: Args = { conf: [], raw: [] };
  const p = program(commander, args);
  try {
    p.parse(argv);
  } catch (err) {
    if (err instanceof commander.CommanderError) {
      process.exit(err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2);
    }
    throw err;
  }
  const o = p.opts();
  return {
    conf: o.conf as string[],
    raw: args.raw,
    dryRun: o.dryRun as boolean | undefined,
    simExecuteCommands: o.simExecuteCommands as boolean | undefined,
    backend: o.backend as string | undefined,
    simulate: o.simulate as boolean | undefined,
    apiCompat: o.apiCompat as string | undefined,
    configCheck: o.configCheck as boolean | undefined,
  };
}
