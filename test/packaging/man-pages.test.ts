// The man pages the .deb installs name every flag, command and key there is: halpid(8) each
// option of `halpid --help`, halpi(1) each command and option, halpid.conf(5) each configuration
// key; and groff reads them without a warning.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_KEYS } from '../../engine/config.js';
import { HALPI, HALPID, ROOT } from '../helpers/daemon.js';

/** A page's text with roff's escaped dashes as plain ones. */
const page = (name: string) => readFileSync(join(ROOT, 'debian', name), 'utf8').replace(/\\-/g, '-');
const help = (bin: string, args: string[]) =>
  spawnSync(process.execPath, [bin, ...args, '--help'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })
    .stdout;
const flags = (text: string) => [...new Set([...text.matchAll(/(?:^|[\s,])(--?[a-zA-Z][\w-]*)/g)].map((m) => m[1]!))];

t.test('halpid(8): every option of halpid --help', async (t) => {
  const man = page('halpid.8');
  const options = flags(help(HALPID, []));
  t.ok(options.length > 20, `${options.length} options`);
  for (const o of options) t.match(man, new RegExp(`\\.(?:B|BR|TP)[^\\n]*(?:^|[\\s"])${o}(?![\\w-])`, 'm'), o);
});

t.test('halpi(1): every command, its options and the global ones', async (t) => {
  const man = page('halpi.1');
  const main = help(HALPI, []);
  const commands = [...main.split('Commands:')[1]!.matchAll(/^ {2}([a-z]+)/gm)]
    .map((m) => m[1]!)
    .filter((c) => c !== 'help');
  t.ok(commands.length >= 9, commands.join(' '));
  for (const c of commands) {
    t.match(man, new RegExp(`^\\.(?:B|BI|BR)\\s+"?${c}\\b`, 'm'), `command ${c}`);
    for (const o of flags(help(HALPI, [c]).split('Options:')[1] ?? '')) t.match(man, o, `${c} ${o}`);
  }
  for (const o of flags(main.split('Options:')[1]!.split('Commands:')[0]!)) t.match(man, o, `global ${o}`);
});

t.test('halpid.conf(5): every configuration key', async (t) => {
  const man = page('halpid.conf.5');
  for (const key of CONFIG_KEYS) t.match(man, new RegExp(`^\\.BR [^\\n]*\\b${key}\\b`, 'm'), key);
  const installed = readFileSync(join(ROOT, 'debian/halpid.manpages'), 'utf8');
  t.match(installed, /^debian\/halpid\.conf\.5$/m, 'the .deb installs it');
});

const groff = spawnSync('groff', ['--version']).status === 0;
t.test('groff reads each page without a warning', { skip: !groff && 'no groff' }, async (t) => {
  for (const name of ['halpid.8', 'halpi.1', 'halpid.conf.5']) {
    const r = spawnSync('groff', ['-man', '-ww', '-z', join(ROOT, 'debian', name)], { encoding: 'utf8' });
    t.same([r.status, r.stderr], [0, ''], name);
  }
});
