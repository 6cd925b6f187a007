// What the daemon does with its configuration in-process (standalone/daemon.ts): the files and
// warnings it logs at start and on SIGHUP, every error of a refused reload, a backend that cannot
// open, a poweroff command that cannot run, and the socket's group changed by a reload (kept
// when the new group does not exist). daemon.test.ts checks the same through the built halpid,
// which Stryker cannot see.
import t from 'tap';
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BusError } from '../../engine/bus.js';
import { Reg } from '../../engine/registers.js';
import { SimulatedController } from '../../engine/simulator/controller.js';
import { Daemon, StartupError } from '../../standalone/daemon.js';
import { GID, logs, startInProcess as start, until } from '../helpers/daemon-inprocess.js';
import { tempDir } from '../helpers/tmp.js';

t.test('the files loaded and their warnings are logged at start and again on reload', async (t) => {
  const dir = tempDir('halpid-conf-');
  const conf = join(dir, 'halpid.conf');
  writeFileSync(conf, 'frobnicate: 1\n');
  const d = await start(t, {}, [conf]);
  t.ok(d.has('info', `Loaded configuration from ${conf}`));
  const warning = `halpid: ${conf}:1: warning: unknown key "frobnicate" ignored`;
  t.equal(d.lines.filter((l) => l.level === 'warn' && l.message === warning).length, 1);
  await d.daemon.reload();
  t.equal(d.lines.filter((l) => l.level === 'warn' && l.message === warning).length, 2, 'said again by the reload');
  t.ok(d.has('info', 'Configuration reloaded'));
});

t.test('a reload refused for two errors: both said, the first with what happens', async (t) => {
  const dir = tempDir('halpid-conf-');
  const conf = join(dir, 'halpid.conf');
  writeFileSync(conf, 'dry-run: false\n');
  const d = await start(t, {}, [conf]);
  writeFileSync(conf, 'dry-run: perhaps\napi-compat: 3\n');
  const before = d.lines.length;
  await d.daemon.reload();
  t.same(
    d.lines
      .slice(before)
      .filter((l) => l.level === 'error')
      .map((l) => l.message),
    [
      `Configuration reload failed: halpid: ${conf}:1: dry-run: expected true or false, got "perhaps"; keeping the previous configuration`,
      `halpid: ${conf}:2: api-compat: expected 5 or 4, got 3`,
    ],
  );
  t.notOk(d.has('info', 'Configuration reloaded'));
  t.equal(d.daemon.config['api-compat'], 5, 'nothing applied');
});

t.test('the i2c backend without its device: a StartupError, said once', async (t) => {
  const dir = tempDir('halpid-conf-');
  const log = logs();
  const err = await Daemon.start({
    files: [],
    defaultFile: join(dir, 'none.conf'),
    flags: { backend: 'i2c', 'i2c-bus': 250, socket: join(dir, 'h.sock'), 'socket-group': GID, poweroff: 'true' },
    logger: log.logger,
  }).catch((e: unknown) => e);
  t.ok(err instanceof StartupError, 'a StartupError');
  t.equal((err as StartupError).code, 1);
  t.match((err as Error).message, /^Failed to open I2C device: .*\/dev\/i2c-250/);
  t.same(
    log.lines.filter((l) => l.level === 'error').map((l) => l.message),
    [(err as Error).message],
  );
  t.notOk(log.has('info', /HTTP server listening/), 'no socket');
});

t.test('a poweroff command that cannot run is said at start when commands would run', async (t) => {
  const missing = join(tempDir('halpid-conf-'), 'no-such-poweroff');
  const run = await start(t, { poweroff: missing, 'sim-execute-commands': true });
  t.ok(run.has('error', `Poweroff command ${missing} cannot run: ${missing} does not exist`));
  t.ok(run.has('info', 'Starting power management state machine'), 'and halpid starts all the same');
  const simulated = await start(t, { poweroff: missing });
  t.notOk(simulated.has('error', /cannot run/), 'not on the simulator, which runs no command');
});

// Root may give the socket any group; another user only one of its own.
const OTHER_GROUP = process.getuid?.() === 0 ? 4 : process.getgroups?.().find((g) => g !== GID);

t.test(
  'reload: the socket takes a new group; a group that does not exist keeps the old one',
  { skip: OTHER_GROUP === undefined ? 'this user has no second group' : false },
  async (t) => {
    const other = OTHER_GROUP!;
    const dir = tempDir('halpid-conf-');
    const conf = join(dir, 'halpid.conf');
    writeFileSync(conf, `socket-group: ${GID}\n`);
    const d = await start(t, { 'socket-group': undefined }, [conf]);
    t.equal(statSync(d.socket).gid, GID);
    writeFileSync(conf, `socket-group: ${other}\n`);
    await d.daemon.reload();
    t.equal(statSync(d.socket).gid, other, 'the socket file has the new group');
    t.equal(d.daemon.config['socket-group'], other);
    t.equal((await d.req('GET', '/version')).status, 200, 'the same socket still serves');
    writeFileSync(conf, 'socket-group: no-such-group-halpid\n');
    await d.daemon.reload();
    t.ok(d.has('error', `Group no-such-group-halpid does not exist; keeping group ${other}`));
    t.equal(d.daemon.config['socket-group'], other, 'the previous group stays in force');
    t.equal(statSync(d.socket).gid, other);
    t.ok(d.has('info', 'Configuration reloaded'), 'the rest of the reload goes on');
    // The socket file removed by someone else: the group cannot be changed, and the line says
    // which file and group (an error as root, where the group is how users get access).
    rmSync(d.socket);
    writeFileSync(conf, `socket-group: ${GID}\n`);
    await d.daemon.reload();
    t.ok(
      d.has(
        process.getuid?.() === 0 ? 'error' : 'warn',
        new RegExp(`^Cannot change group of ${d.socket.replace(/[.]/g, '\\.')} to ${GID}: .*ENOENT`),
      ),
      'the file and the group named',
    );
  },
);

t.test('reload: the poweroff command and sim-execute-commands apply to the next blackout', async (t) => {
  // A harmless poweroff: `touch` of a file in the test's directory.
  const dir = tempDir('halpid-conf-');
  const conf = join(dir, 'halpid.conf');
  const first = join(dir, 'first');
  const second = join(dir, 'second');
  writeFileSync(conf, `blackout-time-limit: 1\npoweroff: touch ${first}\n`);
  const d = await start(t, { 'blackout-time-limit': undefined, poweroff: undefined }, [conf]);
  writeFileSync(conf, `blackout-time-limit: 1\npoweroff: touch ${second}\nsim-execute-commands: true\n`);
  await d.daemon.reload();
  t.equal(d.daemon.config['sim-execute-commands'], true);
  await until(() => d.daemon.engine.state === 'OK', 'running');
  d.sim.setPower(false);
  await d.waitFor('info', `Executing: touch ${second}`);
  await d.waitFor('info', /exited with code 0$/);
  t.ok(existsSync(second), 'the new command ran');
  t.notOk(existsSync(first), 'not the old one');
  t.notOk(d.has('info', /^Simulator: not executing/), 'executed, as the reloaded setting says');
});

t.test('a controller that does not answer at start: warned, and halpid starts and serves', async (t) => {
  // The firmware version register NACKed while the daemon starts, as a controller still booting.
  const proto = SimulatedController.prototype;
  const { writeRead, readNow } = proto;
  const nack = () => new BusError('Remote I/O error (injected NACK)', 'nack');
  proto.writeRead = function (this: SimulatedController, data: Uint8Array, length: number) {
    return data[0] === Reg.FIRMWARE_VERSION ? Promise.reject(nack()) : writeRead.call(this, data, length);
  };
  proto.readNow = function (this: SimulatedController, data: Uint8Array, length: number) {
    if (data[0] === Reg.FIRMWARE_VERSION) throw nack();
    return readNow.call(this, data, length);
  };
  let d;
  try {
    d = await start(t, { 'i2c-bus': 3, 'i2c-addr': 0x6e });
  } finally {
    proto.writeRead = writeRead;
    proto.readNow = readNow;
  }
  t.ok(
    d.has('warn', 'HALPI2 controller not responding at bus 3, address 0x6E: Failed to read from register 0x04'),
    d.find('warn', /not responding/) ?? 'no warning',
  );
  t.notOk(d.has('info', /^Controller firmware/));
  t.ok(d.has('info', 'Starting power management state machine'));
  t.equal((await d.req('GET', '/version')).status, 200);
});

t.test('sim-state-file: the simulated controller keeps its settings there across restarts', async (t) => {
  const state = join(tempDir('halpid-conf-'), 'sim-state.json');
  const a = await start(t, { 'sim-state-file': state });
  t.equal(
    (await a.req('PUT', '/config/led_brightness', { headers: { 'Content-Type': 'application/json' }, body: '7' }))
      .status,
    200,
  );
  t.equal(await a.daemon.stop('SIGTERM'), 0);
  t.ok(existsSync(state), 'saved in the file');
  const b = await start(t, { 'sim-state-file': state });
  t.equal((await b.req('GET', '/config/led_brightness')).text, '7', 'read back by the next daemon');
});
