// halpi's commands and their parser (docs/cli.md). A superset of the CLIs of halpid 5.0.2 and
// 4.0.7; human output by default, `--json` for scripts. Loads only what a command needs; plain
// `halpi status` does not even come here (main.ts).

import { Command, CommanderError, Option } from 'commander';
import { CliError, Client, httpError, parseJsonResponse, resolveSocket } from './client.js';
import { colours, configTable, configValue, usbList } from './format.js';
import { reportError, status, type Globals } from './status.js';
import { configValueProblem } from '../engine/config-ranges.js';
import { CONFIG_KEYS } from '../engine/device.js';
import { VERSION } from '../engine/version.js';

const out = (s: string): void => {
  process.stdout.write(s);
};
const line = (s: string): void => out(`${s}\n`);

class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** JSON text as `config set` sends it (docs/cli.md). */
export function configArgument(value: string): string {
  if (/^(true|false)$/i.test(value)) return value.toLowerCase();
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(value);
  if (m && (m[2] || m[3]) && !(m[2] === '' && m[3] === '')) {
    const [, sign, int, frac, exp] = m;
    if (!(m[2]!.length > 1 && m[2]!.startsWith('0'))) {
      const intPart = int || '0';
      const fracPart = frac === undefined ? '' : `.${frac === '' ? '0' : frac}`;
      return `${sign === '-' ? '-' : ''}${intPart}${fracPart}${exp !== undefined ? `e${exp}` : ''}`;
    }
  }
  return JSON.stringify(value);
}

function build(): Command {
  const program = new Command('halpi');
  program
    .description('Command-line client of halpid, the HALPI2 power daemon')
    .version(`halpi ${VERSION}`, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .option('-s, --socket <path>', 'daemon socket (default: $HALPI_SOCKET or /run/halpid/halpid.sock)')
    .option('--json', 'machine-readable output')
    .option('--no-color', 'never colour the output')
    .showHelpAfterError("Run 'halpi --help' for usage.")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: (s, write) => write(s) });

  const ctx = () => {
    const g = program.opts<Globals>();
    const client = new Client(resolveSocket(g.socket, process.env));
    const noColor = g.color === false || Boolean(g.json);
    return { g, client, c: colours(process.stdout, process.env, noColor) };
  };

  program
    .command('status')
    .description('show every value the daemon reports')
    .action(() => status(program.opts<Globals>()));

  program
    .command('version')
    .description("print the CLI's version and the daemon's")
    .action(async () => {
      const { g, client } = ctx();
      let daemon: string | null = null;
      let why = '';
      try {
        const { value } = await client.json('GET', '/version', { timeoutMs: 5000 });
        daemon = (value as { daemon_version?: string }).daemon_version ?? null;
      } catch (err) {
        why = err instanceof Error ? err.message : String(err);
      }
      if (g.json) return line(JSON.stringify({ cli_version: VERSION, daemon_version: daemon }));
      // The first line as halpi 5.0.2 printed it; the daemon's below, or why there is none.
      line(`halpi version ${VERSION}`);
      line(
        daemon !== null
          ? `halpid version ${daemon}`
          : `halpid version unknown: ${why || 'no daemon_version in /version'}`,
      );
    });

  program
    .command('get')
    .description('print one value (e.g. firmware_version)')
    .argument('<key>')
    .action(async (key: string) => {
      const { g, client } = ctx();
      let res = await client.request('GET', `/values/${encodeURIComponent(key)}`);
      const alias = key === 'V_cap' ? 'V_supercap' : key === 'V_supercap' ? 'V_cap' : null;
      if (res.status === 404 && alias) res = await client.request('GET', `/values/${alias}`);
      const { value } = parseJsonResponse(res);
      // Numbers exactly as the daemon wrote them: JSON.parse would make 10.0 into 10.
      line(g.json || typeof value !== 'string' ? res.text.trim() : value);
    });

  const config = program.command('config').description('show or change the controller configuration');
  config.action(async () => {
    const { g, client } = ctx();
    const { res, value } = await client.json('GET', '/config');
    if (g.json) return line(res.text);
    // GET /config never fails: a silent controller's keys fall back on zeros (docs/api.md), which
    // a table would present as the settings ("watchdog_timeout 0": off). Ask whether it answers.
    const state = await client.request('GET', '/values/state');
    if (state.status >= 500)
      throw new CliError(`The controller is not answering (${errorText(state.text)}): its settings cannot be read`);
    out(configTable(value as Record<string, unknown>));
  });
  config
    .command('get')
    .argument('<key>')
    .description('print one setting')
    .action(async (key: string) => {
      const { g, client } = ctx();
      const res = await client.request('GET', `/config/${encodeURIComponent(key)}`);
      // A known key answers 404 too when the controller does not answer (docs/api.md).
      if (res.status === 404 && (CONFIG_KEYS as readonly string[]).includes(key))
        throw new CliError(`Could not read '${key}': the controller is not answering`);
      if (res.status === 404) throw new CliError(`Configuration key '${key}' not found`);
      const { value } = parseJsonResponse(res);
      line(g.json ? res.text : configValue(value));
    });
  config
    .command('set')
    .argument('<key>')
    .argument('<value>')
    .description('change one setting')
    .addHelpText(
      'after',
      `
Values (checked before anything is written; then the value the controller holds is printed):
  watchdog_timeout          0 or off, or 10 to 65.535 (s)
  power_on_threshold        5 to 10 (V)
  solo_power_off_threshold  4.5 to 10 (V)
  led_brightness            an integer from 0 to 255
  auto_restart              true or false
  solo_depleting_timeout    0 to 60 (s)
`,
    )
    .action(async (key: string, value: string) => {
      const { g, client } = ctx();
      const body = configArgument(key === 'watchdog_timeout' && /^off$/i.test(value) ? '0' : value);
      // The daemon reduces or clamps what it is given (docs/api.md): refuse before writing instead.
      const problem = configValueProblem(key, JSON.parse(body));
      if (problem) throw new CliError(`${key} must be ${problem}: ${value}`, 2);
      await client.call('PUT', `/config/${encodeURIComponent(key)}`, {
        body,
        headers: { 'Content-Type': 'application/json' },
      });
      // Then say what the controller holds now, not what was asked for.
      const res = await client.request('GET', `/config/${encodeURIComponent(key)}`);
      if (res.status !== 200)
        throw new CliError(`Configuration '${key}' was written, but reading it back failed: ${httpError(res).message}`);
      const { value: held } = parseJsonResponse(res);
      line(
        g.json
          ? `{"status":"ok","key":${JSON.stringify(key)},"value":${res.text.trim()}}`
          : `Configuration '${key}' set to: ${configValue(held)}`,
      );
    });

  program
    .command('shutdown')
    .description('shut down, or go to standby with --standby --time')
    .option('--standby', 'standby with a wake-up time instead of a full shutdown')
    .addOption(
      new Option(
        '--time <T>',
        'wake-up: seconds from now, a date-time (2026-08-13 06:00:00), or free text ("tomorrow 6am", "in 2 hours")',
      ),
    )
    .action(async (opts: { standby?: boolean; time?: string }) => {
      const { g, client } = ctx();
      if (opts.standby && opts.time === undefined) throw new UsageError('error: --standby requires --time <T>');
      if (!opts.standby && opts.time !== undefined)
        throw new UsageError('error: --time can only be used with --standby');
      const json = { headers: { 'Content-Type': 'application/json' } };
      if (!opts.standby) {
        await client.call('POST', '/shutdown', { ...json, body: '{}' });
        return line(g.json ? '{"status":"ok","action":"shutdown"}' : 'Shutdown requested');
      }
      const t = opts.time!;
      if (/^[0-9]+$/.test(t) && BigInt(t) <= 4294967295n) {
        const delay = Number(t);
        await client.call('POST', '/standby', { ...json, body: `{"delay":${delay}}` });
        return line(
          g.json
            ? `{"status":"ok","action":"standby","delay":${delay}}`
            : `Standby requested with wakeup in ${delay} seconds`,
        );
      }
      // A date-time the daemons parse themselves goes as it is; free text ("tomorrow 6am",
      // "in 2 hours") is turned into an absolute local time here, sent without offset (halpid 4.0.7
      // and dialect 4 refuse one), so every daemon version takes it.
      let datetime = t;
      let sent = t;
      if (!/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}/.test(t)) {
        const { parseFreeTime, wireTime } = await import('../engine/free-time.js');
        const free = await parseFreeTime(t, Date.now());
        if (!free)
          throw new UsageError(
            `error: --time: cannot understand ${JSON.stringify(t)} (try "tomorrow 6am", "in 2 hours" or 2026-08-13 06:00:00)`,
          );
        datetime = free.iso;
        sent = wireTime(free.at);
        if (!g.json) line(`Wake-up time: ${datetime}`);
      }
      await client.call('POST', '/standby', { ...json, body: JSON.stringify({ datetime: sent }) });
      line(
        g.json
          ? JSON.stringify({ status: 'ok', action: 'standby', datetime })
          : `Standby requested with wakeup at ${datetime}`,
      );
    });

  const usb = program.command('usb').description('show or switch USB port power');
  const showUsb = async () => {
    const { g, client, c } = ctx();
    const { res, value } = await client.json('GET', '/usb');
    if (g.json) line(res.text);
    else out(usbList(value as Record<string, unknown>, c));
  };
  usb.action(showUsb);
  usb.command('get').description('show the USB ports').action(showUsb);
  for (const on of [true, false]) {
    usb
      .command(on ? 'enable' : 'disable')
      .argument('<port>', "0-3 or 'all'")
      .description(`${on ? 'power' : 'cut power to'} a USB port`)
      .action(async (target: string) => {
        if (!/^[0-3]$|^all$/.test(target))
          throw new UsageError(`Error: Invalid port number: ${target}. Must be 0-3 or 'all'`);
        const { g, client } = ctx();
        const json = { headers: { 'Content-Type': 'application/json' } };
        if (target === 'all') {
          await client.call('PUT', '/usb', {
            ...json,
            body: JSON.stringify({ usb0: on, usb1: on, usb2: on, usb3: on }),
          });
        } else {
          await client.call('PUT', `/usb/${target}`, { ...json, body: String(on) });
        }
        if (g.json) return line((await client.call('GET', '/usb')).text);
        const word = on ? 'enabled' : 'disabled';
        line(target === 'all' ? `All USB ports ${word}` : `USB port ${target} ${word}`);
      });
  }

  program
    .command('history')
    .description('summary of the last readings and the past blackouts (the daemon keeps 24 h)')
    .option('--since <duration>', 'how far back: 90s, 10m, 2h, 1d (default: all 24 h)')
    .action(async (opts: { since?: string }) => {
      const { g, client, c } = ctx();
      const { parseDuration, historyText } = await import('./history.js');
      let path = '/history';
      if (opts.since !== undefined) {
        const s = parseDuration(opts.since);
        if (s === null)
          throw new UsageError(`error: --since: not a duration: ${JSON.stringify(opts.since)} (try 90s, 10m, 2h, 1d)`);
        path += `?since=-${s}`;
      }
      const res = await client.request('GET', path);
      if (res.status === 404) throw new CliError('This daemon keeps no history (halpid 5.1 and later do)');
      const { value } = parseJsonResponse(res);
      if (g.json) return line(res.text.trim());
      out(historyText(value as import('./history.js').HistoryJson, c));
    });

  program
    .command('compare')
    .description(
      'compare this daemon with another (halpid 4.0.7, 5.0.2 or ours): wire shape, known differences, clients broken',
    )
    .requiredOption('--against <socket>', "the other daemon's socket")
    .option('--writes', 'also compare reversible writes (USB port 3, LED brightness), restored afterwards')
    .option(
      '--standby-probe',
      'also send POST /standby {} to a halpid 4.x, which takes it as a standby: only one on a fake bus',
    )
    .action(async (opts: { against: string; writes?: boolean; standbyProbe?: boolean }) => {
      const { g, client } = ctx();
      const { compare, failed, table } = await import('./compare.js');
      const report = await compare(client.socket, opts.against, {
        writes: opts.writes,
        standbyProbe: opts.standbyProbe,
      });
      if (g.json) line(JSON.stringify(report));
      else out(table(report));
      if (failed(report)) {
        const real = report.rows.filter((r) => r.verdict === 'real').length;
        throw new CliError(
          real
            ? `${real} real difference${real === 1 ? '' : 's'} found`
            : `clients of the other daemon break against this one: ${Object.keys(report.broken).join(', ')}`,
          1,
        );
      }
    });

  program
    .command('flash')
    .argument('<file>')
    .description('upload controller firmware')
    .option('-y, --yes', 'do not ask for confirmation on a terminal')
    .action(async (file: string, opts: { yes?: boolean }) => {
      const { g, client } = ctx();
      const { askFirst, askYesNo, flash } = await import('./flash.js');
      const err = colours(process.stderr, process.env, g.color === false || Boolean(g.json));
      const green = colours(process.stdout, process.env, g.color === false || Boolean(g.json)).green;
      let uploading = false;
      process.once('SIGINT', () => {
        process.stderr.write(
          `\n${err.yellow(uploading ? 'Interrupted; the daemon finishes or aborts the update on its own' : 'Interrupted; nothing was sent to the controller')}\n`,
        );
        process.exit(130);
      });
      const bytes = await flash(client, file, {
        out: g.json ? () => {} : line,
        progress: g.json ? 'none' : process.stderr.isTTY ? 'bar' : 'lines',
        err: process.stderr,
        green,
        confirm: askFirst(opts.yes) ? (q) => askYesNo(q, process.stdin, process.stderr) : undefined,
        onUpload: () => {
          uploading = true;
        },
      });
      if (g.json) line(JSON.stringify({ status: 'ok', file, bytes }));
    });

  program
    .command('completion')
    .argument('<shell>', 'bash or zsh')
    .description('print a shell completion script (bash or zsh)')
    .action(async (shell: string) => {
      const { bashCompletion, zshCompletion } = await import('./completion.js');
      if (shell === 'bash') out(bashCompletion(program));
      else if (shell === 'zsh') out(zshCompletion(program));
      else throw new UsageError(`error: completion: unknown shell '${shell}' (bash or zsh)`);
    });

  return program;
}

/**
 * `halpi set --help`: commander would print the main help and exit 0 for a word that is no
 * command, as if it had worked. The word is an error instead, naming the command it may be.
 */
function unknownCommand(program: Command, argv: string[]): string | null {
  const valueFlags = new Set(['-s', '--socket']);
  let first: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (valueFlags.has(argv[i]!)) i++;
    else if (!argv[i]!.startsWith('-')) {
      first = argv[i];
      break;
    }
  }
  // `help` is commander's own command (halpi help config), not in program.commands.
  if (
    first === undefined ||
    first === 'help' ||
    program.commands.some((c) => c.name() === first || c.aliases().includes(first))
  )
    return null;
  const within = program.commands.find((c) => c.commands.some((s) => s.name() === first));
  return `error: unknown command '${first}'${within ? ` (did you mean 'halpi ${within.name()} ${first}'?)` : ''}`;
}

export async function main(argv: string[]): Promise<number> {
  const program = build();
  if (
    argv.slice(2).filter((a) => !a.startsWith('-')).length === 0 &&
    !argv.slice(2).some((a) => /^(-V|--version|-h|--help)$/.test(a))
  ) {
    program.outputHelp();
    return 0;
  }
  const unknown = unknownCommand(program, argv.slice(2));
  if (unknown) {
    process.stderr.write(`${unknown}\nRun 'halpi --help' for usage.\n`);
    return 2;
  }
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help'
        ? 0
        : 2;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\nRun 'halpi --help' for usage.\n`);
      return err.code;
    }
    return reportError(err, program.opts<Globals>());
  }
}

/** The `error` of a JSON error body, else the text itself. */
function errorText(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: unknown };
    if (typeof j.error === 'string') return j.error;
  } catch {
    // plain text
  }
  return text.trim();
}
