// The bins load only what a command needs: `halpid --version` and plain `halpi status` answer from
// their CommonJS entries alone; `halpid --help` loads neither the YAML parser nor express, nothing
// loads typebox (the settings' rules are plain code), the daemon loads yaml only for a file to
// read, and halpi loads nothing of the daemon.
// Asserted on what was loaded (a module hook lists the files), never on time.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG_FILE } from '../../engine/config-keys.js';
import { HALPI, HALPID, ROOT, startDaemon } from '../helpers/daemon.js';
import { tempDir } from '../helpers/tmp.js';

const PROBE = join(ROOT, 'test/helpers/load-probe.mjs');

/** Run a bin; return which of the markers appear in the files it loaded (esbuild keeps each module's path as a comment). */
function loaded(
  bin: string,
  args: string[],
): { status: number | null; files: string[]; has: (marker: string) => boolean } {
  const log = join(tempDir('halpi2-load-'), 'loaded');
  const r = spawnSync(process.execPath, ['--import', PROBE, bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', HALPI2_LOAD_LOG: log },
  });
  return { status: r.status, ...seen(log) };
}

/** The files the probe logged, and whether a marker is in any of them. */
function seen(log: string): { files: string[]; has: (marker: string) => boolean } {
  let urls: string[] = [];
  try {
    urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  } catch {
    // nothing loaded beyond the entry
  }
  const files = urls.map((u) => fileURLToPath(u));
  const text = files.map((f) => readFileSync(f, 'utf8')).join('\n');
  return { files, has: (marker) => text.includes(marker) };
}

const SCHEMA = 'node_modules/@sinclair/typebox/';
const YAML = 'node_modules/yaml/';
const EXPRESS = 'node_modules/express/';

t.test('halpid --version and --help: no schema, no YAML, no express', async (t) => {
  for (const args of [['--version'], ['--help']]) {
    const r = loaded(HALPID, args);
    t.equal(r.status, 0, args.join(' '));
    t.ok(
      r.files.some((f) => f.endsWith('halpid.cjs')),
      'the probe saw the entry',
    );
    t.notOk(r.has(SCHEMA), `${args[0]}: typebox not loaded`);
    t.notOk(r.has(YAML), `${args[0]}: yaml not loaded`);
    t.notOk(r.has(EXPRESS), `${args[0]}: express not loaded`);
  }
});

t.test('halpid --version answers from its entry: not even the argument parser is loaded', async (t) => {
  for (const flag of ['--version', '-V']) {
    const r = loaded(HALPID, [flag]);
    t.equal(r.status, 0, flag);
    t.ok(
      r.files.some((f) => f.endsWith('halpid.cjs')),
      'the probe saw the entry',
    );
    t.notOk(r.has('node_modules/commander/'), `${flag}: commander not loaded`);
    t.notOk(r.has('standalone/run.ts'), `${flag}: the rest of halpid not loaded`);
    t.same(r.files, [HALPID], `${flag}: nothing but the CommonJS entry (no ES module loader to compile)`);
  }
  const help = loaded(HALPID, ['--help']);
  t.ok(help.has('node_modules/commander/'), 'the probe does see commander where it is needed');
});

t.test('flag values are checked without the schema library or the YAML parser', async (t) => {
  const r = loaded(HALPID, ['--i2c-bus', 'x']);
  t.equal(r.status, 2, 'a usage error');
  t.ok(r.has('engine/config-keys.ts'), 'the rules of the values loaded to check it');
  t.notOk(r.has(SCHEMA), 'no typebox');
  t.notOk(r.has(YAML), 'no yaml');
  t.notOk(r.has(EXPRESS), 'no express without --web');
  const check = loaded(HALPID, ['--config-check', '--simulate']);
  t.equal(check.status, 0, '--config-check');
  t.ok(check.has(YAML), 'the probe does see yaml where it is needed: --config-check prints YAML');
});

t.test('the daemon loads the YAML parser only for a file to read, no schema library, no node:crypto', async (t) => {
  const dir = tempDir('halpi2-load-');
  const conf = join(dir, 'halpid.conf');
  writeFileSync(conf, 'blackout-time-limit: 5\n');
  // Without --conf the daemon reads /etc/halpid/halpid.conf when it exists.
  const cases: Array<[string, string[], boolean]> = [['with --conf', ['--conf', conf], true]];
  if (!existsSync(DEFAULT_CONFIG_FILE)) cases.push(['without a file', [], false]);
  for (const [name, args, yaml] of cases) {
    const log = join(dir, `loaded-${args.length}`);
    const d = await startDaemon(args, { NODE_OPTIONS: `--import ${PROBE}`, HALPI2_LOAD_LOG: log });
    t.equal((await d.req('GET', '/values')).status, 200, `${name}: the daemon answers`);
    await d.stop();
    const r = seen(log);
    t.ok(r.has('standalone/daemon.ts'), `${name}: the probe saw the daemon`);
    t.equal(r.has(YAML), yaml, `${name}: yaml ${yaml ? '' : 'not '}loaded`);
    t.notOk(r.has(SCHEMA), `${name}: typebox not loaded`);
    // node:crypto is some twenty modules Node compiles at each start under the bin's V8 flags;
    // only the web listener (its one-time token) and the NUT server need it. (Seen in the code
    // loaded: under tap, its own hook in every child loads node:crypto anyway.)
    t.ok(r.has('from "node:net"'), `${name}: the probe sees the imports of Node's modules`);
    t.notOk(r.has('from "node:crypto"'), `${name}: no import of node:crypto without --web or --nut`);
  }
});

t.test('halpi loads nothing of the daemon', async (t) => {
  const r = loaded(HALPI, ['--help']);
  t.equal(r.status, 0);
  for (const marker of [
    SCHEMA,
    YAML,
    EXPRESS,
    'engine/supervisor.ts',
    'engine/simulator/',
    'node_modules/chrono-node/',
  ])
    t.notOk(r.has(marker), marker);
});

t.test('the bin runs as it ships: by its own first line, with the V8 flags that keep it small', async (t) => {
  const first = readFileSync(HALPID, 'utf8').split('\n')[0];
  t.equal(first, '#!/usr/bin/env -S node --max-semi-space-size=1 --max-old-space-size=32 --interrupt-budget=8192');
  const r = spawnSync(HALPID, ['--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^halpid \d+\.\d+\.\d+\n$/);
  const launcher = readFileSync(join(ROOT, 'debian/bin/halpid'), 'utf8');
  t.match(
    launcher,
    /exec \/usr\/bin\/node --max-semi-space-size=1 --max-old-space-size=32 --interrupt-budget=8192 \/usr\/lib\/halpid\/halpid\.cjs "\$@"/,
    'the Debian launcher (and so the unit) uses the same flags',
  );
});

t.test('plain halpi status answers without the argument parser; any other line goes through it', async (t) => {
  const socket = join(tempDir('halpi2-load-'), 'none.sock');
  const plain = loaded(HALPI, ['-s', socket, 'status', '--json']);
  t.equal(plain.status, 1, 'no daemon: the usual failure');
  t.ok(plain.has('cli/status.ts'), 'the status command ran');
  t.notOk(plain.has('node_modules/commander/'), 'commander not loaded');
  t.same(plain.files, [HALPI], 'nothing but the CommonJS entry (no ES module loader to compile)');
  const other = loaded(HALPI, ['-s', socket, 'status', '--bogus']);
  t.equal(other.status, 2, 'an unknown option is still a usage error');
  t.ok(other.has('node_modules/commander/'), 'commander loaded for it');
});
