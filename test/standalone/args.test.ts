// halpid reads a command line of long options without commander (standalone/args.ts): for every
// option commander declares, and the lines systemd and the tests run, it reads what commander reads,
// and it leaves to commander whatever it cannot read the same way.
import t from 'tap';
import * as commander from 'commander';
import { commanderArgs, plainArgs, program, type Args } from '../../standalone/args.js';

const viaCommander = (args: string[]): Promise<Args> => commanderArgs(['node', 'halpid', ...args]);
/** Commander's result without the keys it leaves undefined. */
const defined = (a: Args): Partial<Args> =>
  Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as Partial<Args>;

t.test('every option commander declares reads the same, as `--name value` and `--name=value`', async (t) => {
  const options = program(commander, { conf: [], raw: [] }).options;
  t.ok(options.length > 20, `${options.length} options`);
  for (const o of options) {
    if (!o.long || o.long === '--help' || o.long === '--version') continue;
    if (o.required) {
      const v = o.argChoices ? o.argChoices[0]! : 'x:1';
      for (const line of [[o.long, v], [`${o.long}=${v}`], [o.long, '']]) {
        if (o.argChoices && line.includes('')) continue;
        t.same(plainArgs(line), defined(await viaCommander(line)), line.join(' '));
      }
    } else t.same(plainArgs([o.long]), defined(await viaCommander([o.long])), o.long);
  }
});

t.test('whole lines: none (systemd), the tests', async (t) => {
  for (const line of [
    [],
    ['--simulate', '--socket', '/tmp/x.sock', '--socket-group', '100', '--poweroff', 'true', '--poweroff-fallback', ''],
    ['--conf', 'a.conf', '--conf=b.conf', '--dry-run', '--no-dry-run', '--backend', 'i2c', '--simulate'],
    ['--web', '127.0.0.1:0', '--nut', '3493', '--api-compat', '4', '--no-sim-execute-commands', '--config-check'],
    ['--socket', 'a', '--socket', 'b'],
  ])
    t.same(plainArgs(line), defined(await viaCommander(line)), line.join(' ') || '(none)');
});

t.test('left to commander: help, version, short options, dashes, unknown options and values, arguments', async (t) => {
  for (const line of [
    ['--help'],
    ['-h'],
    ['--version'],
    ['-s', '/tmp/x.sock'],
    ['-n'],
    ['--socket', '-x'],
    ['--socket'],
    ['--bogus'],
    ['--backend', 'bogus'],
    ['--api-compat=3'],
    ['--simulate=yes'],
    ['extra'],
    ['--'],
  ])
    t.equal(plainArgs(line), null, line.join(' '));
});
