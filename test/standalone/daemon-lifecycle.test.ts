// The daemon's life cycle in-process (standalone/daemon.ts): what start-up logs and serves, a
// clean stop (the watchdog disarmed, the socket removed, exit code 0), a second signal, a stop
// during a blackout, start-up failures and SIGHUP reloads. The Daemon class on the simulator,
// in this process, so Stryker sees it (daemon.test.ts runs the built halpid for the rest).
import t from 'tap';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { SimulatedController } from '../../engine/simulator/controller.js';
import { VERSION } from '../../engine/version.js';
import { Daemon, StartupError, STOP_DEADLINE_MS } from '../../standalone/daemon.js';
import { GID, logs, startInProcess as start, until } from '../helpers/daemon-inprocess.js';
import { json, request } from '../helpers/http-request.js';
import { tempDir } from '../helpers/tmp.js';

t.test('start-up: its log lines, the socket served with this version, the watchdog armed', async (t) => {
  const { daemon, sim, socket, req, lines, has } = await start(t);
  t.same(
    lines.slice(0, 2).map((l) => l.message),
    ['halpid - HALPI2 power monitor and watchdog daemon', `Version: ${VERSION}`],
  );
  t.ok(has('info', 'Controller firmware 3.3.1'), 'the firmware read at start');
  t.ok(has('info', `HTTP server listening on ${socket}`));
  t.ok(has('info', 'Starting power management state machine'));
  t.equal(daemon.socketPath, socket);
  t.equal(daemon.webUrl, null, 'no web listener unless configured');
  t.equal((await req('GET', '/version')).text, `{"daemon_version":"${VERSION}"}`);
  await until(() => sim.state === 'OperationalCoOp', 'the watchdog armed');
  await req('PUT', '/usb/1', json(false));
  t.ok(has('info', 'USB ports set by a client on the socket: usb1 on → off'), 'writes over the socket say so');
  const m = (await req('GET', '/metrics')).text;
  t.match(m, /^halpi_connections_open\{listener="socket"\} \d+$/m, 'the socket listener in /metrics');
  t.notMatch(m, /halpi_face_up\{/, 'no optional face');
  t.match(m, /api="5"/);
});

t.test('api-compat 4 is the dialect of the socket', async (t) => {
  const { req } = await start(t, { 'api-compat': 4 });
  t.equal((await req('GET', '/version')).text, `{"daemon_version": "${VERSION}"}`);
});

t.test('stop: 0, the watchdog disarmed, the socket removed; a second signal is only noted', async (t) => {
  const { daemon, sim, socket, lines, has } = await start(t);
  await until(() => sim.state === 'OperationalCoOp', 'the watchdog armed');
  const before = lines.length;
  t.equal(await daemon.stop('SIGTERM'), 0);
  t.equal(sim.snapshot().controller.watchdog_ms, 0, '0x12 written with 0 before stop() returned');
  t.notOk(existsSync(socket), 'the socket file is gone');
  t.same(
    lines.slice(before).map((l) => `${l.level}: ${l.message}`),
    [
      'info: Received SIGTERM',
      'info: Watchdog disabled',
      'info: Removed socket file',
      'info: Cleanup complete',
      'info: Daemon shutdown complete',
    ],
  );
  t.equal(await daemon.stop('SIGINT'), -1);
  t.ok(has('info', 'Received SIGINT (already shutting down)'));
});

t.test('stop when the watchdog cannot be disarmed: said, and still 0', async (t) => {
  const { daemon, sim, req, has } = await start(t);
  await until(() => sim.state === 'OperationalCoOp', 'the watchdog armed');
  await req('POST', '/sim/faults', json({ kind: 'nack', registers: [0x12], op: 'write', count: 0 }));
  t.equal(await daemon.stop('SIGTERM'), 0);
  t.ok(has('warn', 'Failed to disable watchdog during shutdown: Failed to write to register 0x12'));
});

t.test('stop during a blackout waits for the power to return', async (t) => {
  const { daemon, sim, has, waitFor, lines } = await start(t);
  await until(() => daemon.engine.state === 'OK', 'running');
  sim.setPower(false);
  await until(() => daemon.engine.state === 'BLACKOUT', 'the blackout');
  let code: number | null = null;
  // Some of the blackout gone, so the line's elapsed and remaining times are not trivial.
  await until(() => (daemon.engine.supervisor.blackoutElapsedS ?? 0) >= 0.2, 'a fifth of a second of blackout');
  const stopping = daemon.stop('SIGTERM').then((c) => (code = c));
  await waitFor('error', /^Received SIGTERM during a blackout/);
  const line = lines.find((l) => /^Received SIGTERM during a blackout/.test(l.message))!.message;
  const m =
    /^Received SIGTERM during a blackout \((\d+\.\d)s of 600s, (\d+\.\d)s left\): halpid stays until the power returns or its shutdown has started; send SIGTERM again to exit now, leaving the computer to run until the supercap is empty$/.exec(
      line,
    );
  t.ok(m, line);
  t.ok(Number(m![1]) >= 0.2, `elapsed ${m![1]} s`);
  t.ok(
    Math.abs(Number(m![1]) + Number(m![2]) - 600) <= 0.1,
    `elapsed and left add up to the limit: ${m![1]} + ${m![2]}`,
  );
  t.equal(code, null, 'not stopped while the blackout lasts');
  t.notOk(has('info', 'Cleanup complete'));
  sim.setPower(true);
  t.equal(await stopping, 0);
  t.ok(has('info', 'Power resumed: going on with the stop'));
  t.equal(sim.snapshot().controller.watchdog_ms, 0);
});

t.test('a stop during a blackout keeps waiting through a state change that is still a blackout', async (t) => {
  // The daemon's limit above the controller's 9 V: a supply back at 10.8 V is power to the
  // controller (OperationalCoOp) but still a blackout to halpid, which must not go on with the stop.
  const { daemon, sim, has, waitFor } = await start(t, { 'blackout-voltage-limit': 11 });
  await until(() => daemon.engine.state === 'OK', 'running');
  sim.setPower(false);
  await until(() => daemon.engine.state === 'BLACKOUT', 'the blackout');
  const stopping = daemon.stop('SIGTERM');
  await waitFor('error', /^Received SIGTERM during a blackout/);
  const seen = new Promise<string>((resolve) => {
    const off = daemon.engine.on('state', (s) => {
      if (s.controller_state !== 'OperationalCoOp') return;
      off();
      resolve(String(s.daemon_state));
    });
  });
  sim.setInputs({ V_in: 10.8 });
  t.equal(await seen, 'BLACKOUT', 'a state event while the blackout lasts');
  t.notOk(has('info', /going on with the stop/), 'the stop still waits');
  sim.setInputs({ V_in: 12 });
  t.equal(await stopping, 0);
  t.ok(has('info', 'Power resumed: going on with the stop'));
});

t.test('a second signal during a blackout exits at once, at error level', async (t) => {
  const { daemon, sim, has, waitFor } = await start(t);
  await until(() => daemon.engine.state === 'OK', 'running');
  sim.setPower(false);
  await until(() => daemon.engine.state === 'BLACKOUT', 'the blackout');
  const stopping = daemon.stop('SIGTERM');
  await waitFor('error', /^Received SIGTERM during a blackout/);
  t.equal(await daemon.stop('SIGINT'), -1);
  t.equal(await stopping, 0);
  t.ok(
    has(
      'error',
      'Received SIGINT again: exiting during a blackout; nothing will shut this computer down cleanly before the supercap runs out',
    ),
  );
  t.equal(sim.snapshot().controller.watchdog_ms, 0, 'the watchdog disarmed all the same');
});

t.test('start-up failures: a bad configuration file, a socket that cannot be made', async (t) => {
  const dir = tempDir('halpid-life-');
  const conf = join(dir, 'halpid.conf');
  writeFileSync(conf, 'blackout-time-limit: soon\n');
  const a = logs();
  const err = await Daemon.start({ files: [conf], flags: { backend: 'simulator' }, logger: a.logger }).catch((e) => e);
  t.ok(err instanceof StartupError, 'a StartupError');
  t.equal((err as StartupError).code, 1);
  t.match((err as Error).message, /halpid\.conf:1: blackout-time-limit/);
  t.ok(a.has('error', (err as Error).message), 'logged');

  const blocked = join(dir, 'dir');
  mkdirSync(blocked);
  const b = logs();
  const err2 = await Daemon.start({
    files: [],
    defaultFile: join(dir, 'none.conf'),
    flags: { backend: 'simulator', socket: blocked, 'socket-group': GID, poweroff: 'true' },
    logger: b.logger,
  }).catch((e) => e);
  t.ok(err2 instanceof StartupError);
  t.equal((err2 as StartupError).code, 1);
  t.equal((err2 as Error).message, `${blocked} exists and is not a socket, exiting`);
  t.ok(b.has('error', (err2 as Error).message), 'said in one error line');
  t.ok(existsSync(blocked), 'the directory in the way is left alone');
});

t.test('reload: a live key applies, a restart key is said, a bad file keeps the previous configuration', async (t) => {
  const dir = tempDir('halpid-life-');
  const conf = join(dir, 'halpid.conf');
  writeFileSync(conf, 'blackout-time-limit: 30\n');
  const { daemon, req, has } = await start(t, {}, [conf]);
  t.equal(daemon.engine.settings.blackoutTimeLimitS, 600, 'the flag wins over the file');
  const d2 = await start(t, { 'blackout-time-limit': undefined }, [conf]);
  t.equal(d2.daemon.engine.settings.blackoutTimeLimitS, 30);
  writeFileSync(conf, 'blackout-time-limit: 12\napi-compat: 4\ni2c-bus: 3\n');
  await d2.daemon.reload();
  t.ok(d2.has('info', 'Received SIGHUP, reloading configuration'));
  t.ok(d2.has('warn', 'i2c-bus changed; restart halpid to apply it'));
  t.ok(d2.has('info', 'Configuration reloaded'));
  t.equal(d2.daemon.engine.settings.blackoutTimeLimitS, 12, 'the new limit is in force');
  t.equal(d2.daemon.config['i2c-bus'], 1, 'the restart key kept its value');
  t.equal(d2.daemon.config['api-compat'], 4);
  t.equal((await d2.req('GET', '/version')).text, `{"daemon_version": "${VERSION}"}`, 'the new dialect at once');
  writeFileSync(conf, 'blackout-time-limit: nope\n');
  await d2.daemon.reload();
  t.ok(d2.has('error', /^Configuration reload failed: .*blackout-time-limit.*; keeping the previous configuration$/));
  t.equal(d2.daemon.engine.settings.blackoutTimeLimitS, 12, 'unchanged');
  t.equal((await req('GET', '/version')).status, 200);
  t.notOk(has('info', 'Configuration reloaded'), 'the other daemon was not reloaded');
});

t.test('reload: the socket moves to a new path, the old file removed', async (t) => {
  const dir = tempDir('halpid-life-');
  const conf = join(dir, 'halpid.conf');
  const first = join(dir, 'a.sock');
  const second = join(dir, 'b.sock');
  writeFileSync(conf, `socket: ${first}\n`);
  const { daemon, has } = await start(t, { socket: undefined }, [conf]);
  t.equal(daemon.socketPath, first);
  writeFileSync(conf, `socket: ${second}\n`);
  await daemon.reload();
  t.equal(daemon.socketPath, second);
  t.notOk(existsSync(first), 'the old socket file is removed');
  t.ok(has('info', `Removed socket file ${first}`));
  t.equal((await request(second, 'GET', '/version')).status, 200, 'served on the new path');
  mkdirSync(join(dir, 'c.sock'));
  writeFileSync(conf, `socket: ${join(dir, 'c.sock')}\n`);
  await daemon.reload();
  t.ok(
    has('error', new RegExp(`^Cannot move the socket to .*c\\.sock: .*; keeping ${second.replace(/[.]/g, '\\.')}$`)),
  );
  t.equal(daemon.socketPath, second);
  t.equal((await request(second, 'GET', '/version')).status, 200, 'still served');
});

t.test('stop during a blackout goes on once the blackout shutdown has started', async (t) => {
  const { daemon, sim, has, waitFor } = await start(t, { 'blackout-time-limit': 1 });
  await until(() => daemon.engine.state === 'OK', 'running');
  sim.setPower(false);
  await until(() => daemon.engine.state === 'BLACKOUT', 'the blackout');
  const stopping = daemon.stop('SIGTERM');
  await waitFor('error', /^Received SIGTERM during a blackout \(\d+\.\ds of 1s/);
  t.equal(await stopping, 0, 'the stop ends once the shutdown has begun (its 1 s limit)');
  t.ok(has('info', 'The blackout shutdown has started: going on with the stop'));
  t.notOk(has('info', 'Power resumed: going on with the stop'));
});

t.test('a socket file removed by someone else: the stop does not claim it removed it', async (t) => {
  const { daemon, socket, has } = await start(t);
  rmSync(socket);
  t.equal(await daemon.stop('SIGTERM'), 0);
  t.notOk(has('info', 'Removed socket file'));
  t.ok(has('info', 'Watchdog disabled'));
});

t.test('a cleanup that hangs: exit 1 at the stop deadline, said at error level', async (t) => {
  const { daemon, has } = await start(t);
  const stopEngine = daemon.engine.stop.bind(daemon.engine);
  daemon.engine.stop = () => new Promise(() => {}); // never settles
  t.teardown(() => stopEngine());
  const started = Date.now();
  t.equal(await daemon.stop('SIGTERM'), 1);
  t.ok(Date.now() - started >= STOP_DEADLINE_MS - 50, 'not before the deadline');
  t.ok(has('error', 'Cleanup timed out'), 'said (no direct write on the simulator, whose bus has none)');
  t.notOk(has('info', 'Cleanup complete'));
});

t.test('the socket: request heads over 8 KiB refused; idle connections past 256 dropped and counted', async (t) => {
  const { req, daemon, waitFor } = await start(t);
  t.equal((await req('GET', '/version', { headers: { 'X-Pad': 'x'.repeat(10 * 1024) } })).status, 431);
  t.equal((await req('GET', '/version', { headers: { 'X-Pad': 'x'.repeat(4 * 1024) } })).status, 200);
  const idle: Socket[] = [];
  t.teardown(() => idle.forEach((s) => s.destroy()));
  for (let i = 0; i < 257; i++) {
    const s = connect(daemon.socketPath);
    s.on('error', () => {});
    idle.push(s);
  }
  await waitFor('warn', 'socket: 256 connections open; dropping the oldest idle ones for new ones');
  // The request's own connection is one more past the limit.
  t.match((await req('GET', '/metrics')).text, /^halpi_connections_dropped_total\{listener="socket"\} 2$/m);
});

t.test('a cleanup that hangs on a bus with a direct write: the watchdog disarmed by it, and said', async (t) => {
  // The I2C adapter has a synchronous write for this last resort; here the simulator gets one
  // for this test (before start: the engine's bus wrapper takes it then), forwarding the bytes.
  const written: number[][] = [];
  const proto = SimulatedController.prototype as unknown as { writeSync?: (data: Uint8Array) => void };
  proto.writeSync = function (this: SimulatedController, data: Uint8Array) {
    written.push([...data]);
    void this.write(data);
  };
  t.teardown(() => delete proto.writeSync);
  const { daemon, sim, has } = await start(t);
  await until(() => sim.state === 'OperationalCoOp', 'the watchdog armed');
  const stopEngine = daemon.engine.stop.bind(daemon.engine);
  daemon.engine.stop = () => new Promise(() => {}); // never settles
  t.teardown(() => stopEngine());
  t.equal(await daemon.stop('SIGTERM'), 1);
  t.same(written, [[0x12, 0, 0]], 'one direct write of 0 to the watchdog register');
  await until(() => sim.snapshot().controller.watchdog_ms === 0, 'the controller disarmed by those bytes');
  t.ok(has('error', 'Cleanup timed out; watchdog disabled with a direct write'));
});
