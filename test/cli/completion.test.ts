// Every command's --help is its own; a word that is no command is an error, not the main help;
// `halpi completion bash` completes commands, setting names and ports in a real bash.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HALPI } from '../helpers/daemon.js';
import { tempDir } from '../helpers/tmp.js';

const halpi = (args: string[]) =>
  spawnSync(process.execPath, [HALPI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1', HALPI_SOCKET: '/nonexistent/h.sock' },
  });

t.test("each command's --help is its own, exit 0", async (t) => {
  const commands = [
    'status',
    'version',
    'get',
    'config',
    'config get',
    'config set',
    'shutdown',
    'usb',
    'usb get',
    'usb enable',
    'usb disable',
    'compare',
    'flash',
    'completion',
  ];
  for (const c of commands) {
    const r = halpi([...c.split(' '), '--help']);
    t.equal(r.status, 0, c);
    t.match(r.stdout, new RegExp(`^Usage: halpi ${c} `), `${c}: its own usage line`);
  }
});

t.test('a word that is no command: an error naming the command it may be, exit 2', async (t) => {
  const r = halpi(['set', '--help']);
  t.same([r.status, r.stdout], [2, '']);
  t.equal(r.stderr, "error: unknown command 'set' (did you mean 'halpi config set'?)\nRun 'halpi --help' for usage.\n");
  const s = halpi(['-s', '/x.sock', 'stauts', '--help']);
  t.same([s.status, s.stderr.split('\n')[0]], [2, "error: unknown command 'stauts'"]);
  const h = halpi(['help', 'status']);
  t.same([h.status, h.stdout.split('\n')[0]], [0, 'Usage: halpi status [options]'], 'halpi help <command> still works');
  const z = halpi(['completion', 'fish']);
  t.same([z.status, z.stderr.split('\n')[0]], [2, "error: completion: unknown shell 'fish' (bash or zsh)"]);
});

const hasBash = spawnSync('bash', ['-c', 'true']).status === 0;
t.test('bash completion', { skip: !hasBash && 'no bash' }, async (t) => {
  const dir = tempDir('halpi-completion-');
  const script = join(dir, 'halpi.bash');
  const gen = halpi(['completion', 'bash']);
  t.equal(gen.status, 0, gen.stderr);
  writeFileSync(script, gen.stdout);
  const complete = (line: string) => {
    const words = line.split(' ');
    const r = spawnSync(
      'bash',
      [
        '-c',
        `source "$1"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _halpi; echo "\${COMPREPLY[*]}"`,
        'x',
        script,
      ],
      { encoding: 'utf8' },
    );
    t.equal(r.status, 0, r.stderr);
    return r.stdout.trim().split(' ').filter(Boolean).sort();
  };
  t.same(complete('halpi s'), ['shutdown', 'status']);
  t.same(complete('halpi config s'), ['set']);
  t.same(
    complete('halpi -s /tmp/x.sock config get led'),
    ['led_brightness'],
    'the socket flag and its value are skipped',
  );
  t.same(complete('halpi usb enable '), ['0', '1', '2', '3', '--help', 'all'].sort());
  t.same(complete('halpi shutdown --st'), ['--standby']);
  t.same(complete('halpi completion '), ['--help', 'bash', 'zsh'].sort());
  t.same(complete('halpi --time '), [], 'nothing to offer for a value');
});

const hasZsh = spawnSync('zsh', ['-c', 'true']).status === 0;
t.test('zsh completion', { skip: !hasZsh && 'no zsh' }, async (t) => {
  const dir = tempDir('halpi-completion-');
  writeFileSync(join(dir, '_halpi'), halpi(['completion', 'zsh']).stdout);
  t.equal(spawnSync('zsh', ['-n', join(dir, '_halpi')], { encoding: 'utf8' }).status, 0, 'it parses');
  // compadd and _files as stand-ins that print what would be offered (zsh filters by prefix itself).
  const complete = (line: string) => {
    const words = line.split(' ');
    const script = `compadd() { [[ $1 == -- ]] && shift; print -r -- "$@"; }; _files() { print -r -- FILES; }
      source "$1"; words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}; _halpi`;
    const r = spawnSync('zsh', ['-f', '-c', script, 'x', join(dir, '_halpi')], { encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
    return r.stdout.trim().split(/\s+/).filter(Boolean).sort();
  };
  t.same(complete('halpi config s'), ['--help', 'get', 'set']);
  t.same(complete('halpi -s /tmp/x.sock usb enable '), ['--help', '0', '1', '2', '3', 'all'].sort());
  t.same(complete('halpi flash '), ['--help', '--yes', 'FILES'].sort(), 'files for flash');
  t.same(complete('halpi --socket '), ['FILES'], 'a file for the socket');
});
