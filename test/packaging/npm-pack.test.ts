// The npm package (the Signal K plugin with halpid and halpi): only what runs is packed, and a
// global install of the tarball into a temporary prefix gives working `halpid` and `halpi`.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers/daemon.js';
import { tempDir } from '../helpers/tmp.js';

const npm = (args: string[], cwd = ROOT) =>
  spawnSync('npm', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
  });

const ALLOWED = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^dist\/bin\/(halpid|halpi|halpid-run|halpi-program)\.cjs$/,
  /^dist\/bin\/lib\/(express|yaml|chrono-node|busboy|commander)\.cjs$/, // libraries some commands load on demand
  /^dist\/plugin\/index\.cjs$/,
  /^prebuilds\/linux-(x64|arm64)\/i2c\.abi\d+\.node$/, // i2c-bus's addon, prebuilt (scripts/build-prebuilds.sh)
  /^public\/(index\.html|app\.js|style\.css)(\.gz|\.br)?$/,
  /^public\/(icon|icon-192|icon-512)\.png$/,
  /^public\/manifest\.webmanifest$/, // so the panel can sit on a tablet's home screen
];
const REQUIRED = [
  'package.json',
  'README.md',
  'LICENSE',
  'dist/plugin/index.cjs',
  'public/manifest.webmanifest',
  'public/icon-192.png',
  'public/icon-512.png',
  'dist/bin/halpid.cjs',
  'dist/bin/halpid-run.cjs',
  'dist/bin/halpi.cjs',
  'dist/bin/halpi-program.cjs',
  'dist/bin/lib/express.cjs',
  'dist/bin/lib/yaml.cjs',
  'dist/bin/lib/chrono-node.cjs',
  'dist/bin/lib/busboy.cjs',
  'dist/bin/lib/commander.cjs',
  'public/index.html',
  'public/app.js',
  'public/icon.png',
];

t.test('npm pack: every file on the allow-list, and everything that runs', async (t) => {
  const r = npm(['pack', '--dry-run', '--json', '--ignore-scripts']);
  t.equal(r.status, 0, r.stderr);
  const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
  t.same(
    files.filter((f) => !ALLOWED.some((re) => re.test(f))),
    [],
    'nothing else (no tests, sources, maps, .deb)',
  );
  for (const f of REQUIRED) t.ok(files.includes(f), f);
});

t.test('a global install of the tarball runs halpid and halpi', async (t) => {
  const dir = tempDir('halpi2-pack-');
  const pack = npm(['pack', '--pack-destination', dir, '--ignore-scripts']);
  t.equal(pack.status, 0, pack.stderr);
  const tarball = join(dir, pack.stdout.trim().split('\n').at(-1)!);
  const prefix = join(dir, 'prefix');
  // From the npm cache that installing this checkout filled; the optional I2C addon is not built.
  const install = npm(['install', '-g', '--prefix', prefix, tarball, '--prefer-offline', '--ignore-scripts']);
  t.equal(install.status, 0, `npm install -g\n${install.stderr}`);
  const run = (bin: string, args: string[]) =>
    spawnSync(join(prefix, 'bin', bin), args, { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  const version = JSON.parse((await import('node:fs')).readFileSync(join(ROOT, 'package.json'), 'utf8'))
    .version as string;
  t.equal(run('halpid', ['--version']).stdout.trim(), `halpid ${version}`);
  const help = run('halpi', ['--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /^Usage: halpi \[options\] \[command\]/);
  // The plugin entry loads with require(), as the Signal K server loads it.
  const plugin = spawnSync(
    process.execPath,
    [
      '-e',
      `const p = require(${JSON.stringify(join(prefix, 'lib/node_modules/signalk-halpi2'))}); console.log(typeof p, p({ debug() {}, error() {}, setPluginStatus() {}, setPluginError() {}, handleMessage() {}, registerPutHandler() {}, getSelfPath() {} }).id)`,
    ],
    { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
  );
  t.equal(plugin.stdout.trim(), 'function signalk-halpi2', plugin.stderr);
});
