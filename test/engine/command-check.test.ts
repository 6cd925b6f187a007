// The start-up and --config-check check of the poweroff command (engine/command-check.ts): its
// program must exist and be executable; what only the shell can tell is not second-guessed.
import t from 'tap';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandProblem, commandsWouldRun, poweroffCommandChecks } from '../../engine/command-check.js';
import { defaultConfig, type ConfigKey } from '../../engine/config.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('halpid-cc-');
const bin = join(dir, 'bin');
mkdirSync(bin);
const program = (name: string, mode: number) => {
  writeFileSync(join(bin, name), '#!/bin/sh\n');
  chmodSync(join(bin, name), mode);
  return join(bin, name);
};
const runnable = program('my-poweroff', 0o755);
const plain = program('not-executable', 0o644);

t.test('a path: exists, is a file, is executable', async (t) => {
  t.equal(commandProblem(`${runnable} --now`, bin), null);
  t.equal(commandProblem('/nonexistent/poweroff'), '/nonexistent/poweroff does not exist');
  t.equal(commandProblem(plain), `${plain} is not executable`);
  t.equal(commandProblem(`${dir} -x`), `${dir} is not a file`);
});

t.test('a bare name is searched in PATH', async (t) => {
  t.equal(commandProblem('my-poweroff -f', `/nonexistent:${bin}`), null);
  t.equal(commandProblem('not-executable', bin), `not-executable is not found in PATH (${bin})`);
  t.equal(commandProblem('halpid-no-such-program', bin), `halpid-no-such-program is not found in PATH (${bin})`);
});

t.test('builtins, quoting and expansions are left to the shell', async (t) => {
  for (const c of [
    'true',
    'echo off >> /tmp/x',
    'exit 3',
    'FOO=1 poweroff',
    '"/opt/my poweroff"',
    '$POWEROFF',
    '',
    '  ',
  ]) {
    t.equal(commandProblem(c, bin), null, JSON.stringify(c));
  }
});

t.test('the configured commands: empty ones are not checked; explicit ones are marked', async (t) => {
  const config = {
    ...defaultConfig(),
    poweroff: '/nonexistent/poweroff',
    'poweroff-fallback': 'halpid-no-such-program --force',
  };
  const checks = poweroffCommandChecks(config, new Set<ConfigKey>(['poweroff']), bin);
  t.same(checks, [
    {
      key: 'poweroff',
      subject: 'Poweroff command /nonexistent/poweroff',
      problem: '/nonexistent/poweroff does not exist',
      explicit: true,
    },
    {
      key: 'poweroff-fallback',
      subject: 'Poweroff fallback halpid-no-such-program --force',
      problem: `halpid-no-such-program is not found in PATH (${bin})`,
      explicit: false,
    },
  ]);
  t.same(poweroffCommandChecks({ ...config, poweroff: runnable, 'poweroff-fallback': '' }, new Set(), bin), []);
});

t.test('commands are checked only where halpid would run them', async (t) => {
  const c = defaultConfig();
  t.equal(commandsWouldRun({ ...c, backend: 'i2c' }), true);
  t.equal(commandsWouldRun({ ...c, backend: 'simulator' }), false);
  t.equal(commandsWouldRun({ ...c, backend: 'simulator', 'sim-execute-commands': true }), true);
  t.equal(
    commandsWouldRun({ ...c, backend: 'auto' }, () => true),
    true,
    'auto with /dev/i2c-1',
  );
  t.equal(
    commandsWouldRun({ ...c, backend: 'auto' }, () => false),
    false,
    'auto without it: the simulator',
  );
});
