// The bins load only what a command needs: `halpid --version` and plain `halpi status` answer from
// their CommonJS entries alone; `halpid --help` loads neither the YAML parser nor express, nothing
// loads typebox (the settings' rules are plain code), the daemon loads yaml only for a file to
// read, and halpi loads nothing of the daemon.
// Asserted on what was loaded (a module hook lists the files), never on time.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CONFIG_FILE } from '../../engine/config-keys.js';
import { HALPI, HALPID, ROOT, startDaemon } from '../helpers/daemon.js';
import { tempDir } from '../helpers/tmp.js';

const PROBE = join(ROOT, 'test/helpers/load-probe.cjs');
const BIN = join(ROOT, 'dist/bin');

interface Loaded {
  /** The files compiled, in order (the bins are CommonJS bundles: one file each, and dist/bin/lib/). */
  files: string[];
  /** Whether a marker is in the text of any file loaded (esbuild keeps each module's path as a comment). */
  has: (marker: string) => boolean;
  /** Whether a file of dist/bin/ (e.g. `lib/yaml.cjs`) was loaded. */
  file: (name: string) => boolean;
  /** Whether one of Node's own modules was loaded, by the time the process exited. */
  native: (name: string) => boolean;
}

/** Run a bin (without the hook tap puts in every child's NODE_OPTIONS); what it loaded. */
function loaded(bin: string, args: string[]): Loaded & { status: number | null } {
  const log = join(tempDir('halpi2-load-'), 'loaded');
  const r = spawnSync('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, '--require', PROBE, bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, HALPI2_LOAD_LOG: log },
  });
  return { status: r.status, ...seen(log) };
}

/** What the probe logged. */
function seen(log: string): Loaded {
  const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const files = lines.filter((l) => !l.startsWith('native: ') && l !== PROBE);
  const natives = new Set(lines.filter((l) => l.startsWith('native: ')).map((l) => l.slice(8)));
  const text = files.map((f) => readFileSync(f, 'utf8')).join('\n');
  return {
    files,
    has: (marker) => text.includes(marker),
    file: (name) => files.includes(join(BIN, name)),
    native: (name) => natives.has(name),
  };
}

const SCHEMA = 'node_modules/@sinclair/typebox/';
const YAML = 'lib/yaml.cjs';
const EXPRESS = 'lib/express.cjs';
const ESM_LOADER = 'internal/modules/esm/loader';

t.test('halpid --version and --help: no schema, no YAML, no express, no ES module loader', async (t) => {
  for (const args of [['--version'], ['--help']]) {
    const r = loaded(HALPID, args);
    t.equal(r.status, 0, args.join(' '));
    t.equal(r.files[0], HALPID, 'the probe saw the entry');
    t.notOk(r.has(SCHEMA), `${args[0]}: typebox not loaded`);
    t.notOk(r.file(YAML), `${args[0]}: yaml not loaded`);
    t.notOk(r.file(EXPRESS), `${args[0]}: express not loaded`);
    t.notOk(r.native(ESM_LOADER), `${args[0]}: no ES module loader`);
  }
});

t.test('halpid --version answers from its entry: not even the argument parser is loaded', async (t) => {
  for (const flag of ['--version', '-V']) {
    const r = loaded(HALPID, [flag]);
    t.equal(r.status, 0, flag);
    t.notOk(r.has('node_modules/commander/'), `${flag}: commander not loaded`);
    t.notOk(r.file('halpid-run.cjs'), `${flag}: the rest of halpid not loaded`);
    t.same(r.files, [HALPID], `${flag}: nothing but the CommonJS entry`);
    t.notOk(r.native('vm'), `${flag}: no node:vm (the code cache of the rest of halpid)`);
  }
  const help = loaded(HALPID, ['--help']);
  t.ok(help.has('node_modules/commander/'), 'the probe does see commander where it is needed');
  t.same(
    help.files,
    [HALPID, join(BIN, 'halpid-run.cjs'), join(BIN, 'lib/commander.cjs')],
    '--help: the entry, the rest of halpid and commander',
  );
});

t.test('flag values are checked without the schema library or the YAML parser', async (t) => {
  const r = loaded(HALPID, ['--i2c-bus', 'x']);
  t.equal(r.status, 2, 'a usage error');
  t.ok(r.has('engine/config-keys.ts'), 'the rules of the values loaded to check it');
  t.notOk(r.has(SCHEMA), 'no typebox');
  t.notOk(r.file(YAML), 'no yaml');
  t.notOk(r.file(EXPRESS), 'no express without --web');
  const check = loaded(HALPID, ['--config-check', '--simulate']);
  t.equal(check.status, 0, '--config-check');
  t.ok(check.file(YAML), 'the probe does see yaml where it is needed: --config-check prints YAML');
});

t.test(
  'the daemon starts without the ES module loader, node:crypto, the YAML parser (but for a file) or the schema library',
  async (t) => {
    const dir = tempDir('halpi2-load-');
    const conf = join(dir, 'halpid.conf');
    writeFileSync(conf, 'blackout-time-limit: 5\n');
    // Without --conf the daemon reads /etc/halpid/halpid.conf when it exists.
    const cases: Array<[string, string[], boolean]> = [['with --conf', ['--conf', conf], true]];
    if (!existsSync(DEFAULT_CONFIG_FILE)) cases.push(['without a file', [], false]);
    for (const [name, args, yaml] of cases) {
      const log = join(dir, `loaded-${args.length}`);
      const d = await startDaemon(args, { HALPI2_LOAD_LOG: log }, { nodeArgs: ['--require', PROBE] });
      t.equal((await d.req('GET', '/values')).status, 200, `${name}: the daemon answers`);
      await d.stop();
      // The probe writes Node's modules at exit: what the whole run loaded, the start included.
      const r = seen(log);
      t.ok(r.has('standalone/daemon.ts'), `${name}: the probe saw the daemon`);
      t.equal(r.file(YAML), yaml, `${name}: yaml ${yaml ? '' : 'not '}loaded`);
      t.notOk(r.file(EXPRESS), `${name}: express not loaded`);
      t.notOk(r.file('lib/busboy.cjs'), `${name}: busboy (firmware uploads) not loaded`);
      t.notOk(r.file('lib/commander.cjs'), `${name}: commander not loaded (a line of long options)`);
      t.notOk(r.has(SCHEMA), `${name}: typebox not loaded`);
      // With the bin's V8 flags Node compiles each of its own modules from source at every start:
      // the ES module loader and node:crypto (some twenty modules; only the web listener's one-time
      // token and the NUT server need it) are not loaded.
      t.ok(r.native('net'), `${name}: the probe sees Node's modules`);
      t.notOk(r.native(ESM_LOADER), `${name}: no ES module loader`);
      t.notOk(r.native('crypto'), `${name}: no node:crypto without --web or --nut`);
      t.notOk(r.native('perf_hooks'), `${name}: no perf_hooks (the performance global loads it)`);
    }
  },
);

t.test('halpi loads nothing of the daemon', async (t) => {
  const r = loaded(HALPI, ['--help']);
  t.equal(r.status, 0);
  t.same(
    r.files,
    [HALPI, join(BIN, 'halpi-program.cjs'), join(BIN, 'lib/commander.cjs')],
    'the entry, the rest of halpi and commander',
  );
  t.notOk(r.native(ESM_LOADER), 'no ES module loader');
  for (const marker of [SCHEMA, 'engine/supervisor.ts', 'engine/simulator/', 'node_modules/chrono-node/'])
    t.notOk(r.has(marker), marker);
});

t.test('the bin runs as it ships: by its own first line, with the V8 flags that keep it small', async (t) => {
  const first = readFileSync(HALPID, 'utf8').split('\n')[0];
  t.equal(first, '#!/usr/bin/env -S node --max-semi-space-size=1 --max-old-space-size=32');
  const r = spawnSync(HALPID, ['--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^halpid \d+\.\d+\.\d+\n$/);
  const launcher = readFileSync(join(ROOT, 'debian/bin/halpid'), 'utf8');
  t.match(
    launcher,
    /exec \/usr\/bin\/node --max-semi-space-size=1 --max-old-space-size=32 \/usr\/lib\/halpid\/halpid\.cjs "\$@"/,
    'the Debian launcher (and so the unit) uses the same flags',
  );
});

t.test('plain halpi status answers without the argument parser; any other line goes through it', async (t) => {
  const socket = join(tempDir('halpi2-load-'), 'none.sock');
  const plain = loaded(HALPI, ['-s', socket, 'status', '--json']);
  t.equal(plain.status, 1, 'no daemon: the usual failure');
  t.ok(plain.has('cli/status.ts'), 'the status command ran');
  t.notOk(plain.has('node_modules/commander/'), 'commander not loaded');
  t.same(plain.files, [HALPI], 'nothing but the CommonJS entry');
  t.notOk(plain.native(ESM_LOADER), 'no ES module loader');
  t.notOk(plain.native('http'), 'no node:http');
  const d = await startDaemon();
  t.teardown(() => d.stop());
  const answered = loaded(HALPI, ['-s', d.socket, 'status']);
  t.equal(answered.status, 0, 'against a daemon: its status');
  t.same(answered.files, [HALPI], 'against a daemon: nothing but the entry');
  t.notOk(answered.native('http'), 'against a daemon: no node:http (a plain socket carries the request)');
  t.ok(answered.native('net'), 'the probe sees node:net');
  const other = loaded(HALPI, ['-s', socket, 'status', '--bogus']);
  t.equal(other.status, 2, 'an unknown option is still a usage error');
  t.ok(other.has('node_modules/commander/'), 'commander loaded for it');
});
