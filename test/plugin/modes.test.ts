// Which mode runs (plugin/modes.ts, plugin/plugin.ts): a halpid on the socket, a usable I2C
// device with the controller answering, neither; engine mode refuses while halpid answers.
import t from 'tap';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { FakeClock } from '../../engine/clock.js';
import { SimulatedController } from '../../engine/simulator/controller.js';
import { cpSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { LinuxI2cBus } from '../../engine/i2c-bus.js';
import { noI2cModule, nothingFound, PROBE_TIMEOUT_MS, probeDevice, probeHalpid } from '../../plugin/modes.js';
import { ROOT } from '../helpers/daemon.js';
import { createPlugin } from '../../plugin/plugin.js';
import { fakeApp } from '../helpers/signalk.js';
import { tempDir } from '../helpers/tmp.js';

async function halpidAt(t: { teardown(fn: () => unknown): void }, answer = '{"daemon_version":"5.0.2"}') {
  const path = join(tempDir('halpi2-modes-'), 'h.sock');
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(answer);
  });
  await new Promise<void>((r) => server.listen(path, () => r()));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  );
  return path;
}

const eacces = () => {
  throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
};

t.test('probeHalpid: an answer, no socket, refused', async (t) => {
  t.same(await probeHalpid(await halpidAt(t)), { ok: true, version: '5.0.2' });
  const dir = tempDir('halpi2-none-');
  t.same(await probeHalpid(join(dir, 'missing.sock')), { ok: false, reason: 'no socket' });
  const { spawnSync } = await import('node:child_process');
  const stale = join(dir, 'stale.sock');
  spawnSync(process.execPath, [
    '-e',
    `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  t.same(await probeHalpid(stale), { ok: false, reason: 'connection refused' });
});

t.test(
  'probeHalpid: GET /version; an error status, an answer without a version, permission, any other error',
  async (t) => {
    const asked: unknown[][] = [];
    const answering =
      (status: number, text: string) =>
      async (...args: unknown[]) => {
        asked.push(args);
        return { status, type: 'application/json', text };
      };
    const failing = (err: Error) => async () => {
      throw err;
    };
    t.same(await probeHalpid('/s', { request: answering(200, '{"daemon_version":"5.1.0"}') }), {
      ok: true,
      version: '5.1.0',
    });
    t.same(asked, [['/s', 'GET', '/version', undefined, PROBE_TIMEOUT_MS]], 'GET /version with the probe timeout');
    t.same(await probeHalpid('/s', { request: answering(503, '') }), {
      ok: false,
      reason: 'GET /version answered 503',
    });
    t.same(await probeHalpid('/s', { request: answering(200, 'halpid') }), { ok: true, version: 'unknown' });
    t.same(await probeHalpid('/s', { request: answering(200, '{"daemon_version":5}') }), {
      ok: true,
      version: 'unknown',
    });
    const code = (c: string) => Object.assign(new Error(`${c}: x`), { code: c });
    t.same(await probeHalpid('/s', { request: failing(code('EACCES')) }), { ok: false, reason: 'permission denied' });
    t.same(await probeHalpid('/s', { request: failing(code('ECONNREFUSED')) }), {
      ok: false,
      reason: 'connection refused',
    });
    t.same(await probeHalpid('/s', { request: failing(code('ENOENT')) }), { ok: false, reason: 'no socket' });
    t.same(await probeHalpid('/s', { request: failing(new Error('No answer from halpid within 2 s')) }), {
      ok: false,
      reason: 'No answer from halpid within 2 s',
    });
  },
);

t.test('probeDevice: EPERM is a permission problem; other errors say what failed', async (t) => {
  const throwing = (code: string) => () => {
    throw Object.assign(new Error(`${code}: something`), { code });
  };
  t.same(await probeDevice(3, 0x6d, { exists: () => true, access: throwing('EPERM') }), {
    ok: false,
    permission: true,
    reason: "Permission denied on /dev/i2c-3: add the Signal K server's user to the 'i2c' group",
  });
  t.same(await probeDevice(3, 0x6d, { exists: () => true, access: throwing('EIO') }), {
    ok: false,
    reason: 'EIO: something',
  });
  t.same(
    await probeDevice(3, 0x6d, {
      exists: () => true,
      access: () => {},
      openI2c: async () => {
        throw new Error('Device or resource busy');
      },
    }),
    { ok: false, reason: 'Device or resource busy' },
  );
  let closed = 0;
  const silent = new SimulatedController({ clock: new FakeClock(), start: 'host-running' });
  silent.faults.add({ kind: 'nack', count: 0 });
  const bus = Object.assign(Object.create(silent) as SimulatedController, {
    close: async () => {
      closed++;
    },
  });
  await probeDevice(1, 0x6d, { exists: () => true, access: () => {}, openI2c: async () => bus });
  t.equal(closed, 1, 'a silent controller: the bus is closed again');
});

t.test('probeDevice: absent, no permission, the controller answering, the controller silent', async (t) => {
  t.same(await probeDevice(7, 0x6d, { exists: () => false }), { ok: false, reason: 'no such device' });
  t.same(await probeDevice(1, 0x6d, { exists: () => true, access: eacces }), {
    ok: false,
    permission: true,
    reason: "Permission denied on /dev/i2c-1: add the Signal K server's user to the 'i2c' group",
  });
  const sim = new SimulatedController({ clock: new FakeClock(), start: 'host-running' });
  const found = await probeDevice(1, 0x6d, { exists: () => true, access: () => {}, openI2c: async () => sim });
  t.match(found, { ok: true, firmware: /^\d+\.\d+\.\d+/ });
  const silent = new SimulatedController({ clock: new FakeClock(), start: 'host-running' });
  silent.faults.add({ kind: 'nack', count: 0 });
  const res = await probeDevice(1, 0x6d, { exists: () => true, access: () => {}, openI2c: async () => silent });
  t.match(res, { ok: false, reason: /^the controller does not answer: / });
});

t.test('auto: halpid answering → client', async (t) => {
  const socketPath = await halpidAt(t);
  const app = fakeApp();
  const plugin = createPlugin(app, { clock: new FakeClock(), exists: () => false });
  plugin.start({ mode: 'auto', socketPath, engine: { poweroffCommand: 'true' } });
  while (!plugin.current) await new Promise((r) => setImmediate(r));
  t.equal(plugin.current.mode, 'client');
  await plugin.stop();
});

t.test('auto: no halpid, a controller on the bus → engine', async (t) => {
  const clock = new FakeClock();
  const sim = new SimulatedController({ clock, start: 'host-running', hostGated: true });
  const app = fakeApp();
  const plugin = createPlugin(app, { clock, exists: () => true, access: () => {}, openI2c: async () => sim });
  plugin.start({
    mode: 'auto',
    socketPath: join(tempDir('halpi2-auto-'), 'none.sock'),
    engine: { poweroffCommand: 'true' },
  });
  while (!plugin.current) await new Promise((r) => setImmediate(r));
  t.equal(plugin.current.mode, 'engine');
  await clock.advanceUntil(() => app.values.has('electrical.halpi.dcInputVoltage'), 2000);
  t.match(app.statuses.at(-1), /^Controlling HALPI2 on \/dev\/i2c-1 \(firmware \d+\.\d+\.\d+/);
  const done = plugin.stop();
  await clock.advance(500);
  await done;
});

t.test('auto: neither → an error naming both, with advice', async (t) => {
  const socketPath = join(tempDir('halpi2-auto-'), 'none.sock');
  const app = fakeApp();
  const plugin = createPlugin(app, { clock: new FakeClock(), exists: () => false });
  plugin.start({ mode: 'auto', socketPath, engine: { poweroffCommand: 'true' } });
  while (app.pluginErrors.length === 0) await new Promise((r) => setImmediate(r));
  t.equal(app.pluginErrors[0], nothingFound(socketPath, 'no socket', 1, 'no such device'));
  t.match(
    app.pluginErrors[0],
    /^No halpid answered at .* \(no socket\) and no HALPI2 controller was found on \/dev\/i2c-1 \(no such device\)\. Install and start halpid, or set mode to "simulator" for a demonstration\.$/,
  );
  t.equal(plugin.current, null);
  await plugin.stop();
});

t.test('engine mode refuses while halpid answers; reports a permission problem', async (t) => {
  const socketPath = await halpidAt(t);
  const app = fakeApp();
  const plugin = createPlugin(app, { clock: new FakeClock(), exists: () => true, access: () => {} });
  plugin.start({ mode: 'engine', socketPath, engine: { poweroffCommand: 'true' } });
  while (app.pluginErrors.length === 0) await new Promise((r) => setImmediate(r));
  t.equal(app.pluginErrors[0], `halpid is running at ${socketPath}; use mode "client" or stop halpid`);
  t.equal(plugin.current, null, 'never two owners of the bus');
  await plugin.stop();
  const app2 = fakeApp();
  const plugin2 = createPlugin(app2, { clock: new FakeClock(), exists: () => true, access: eacces });
  plugin2.start({
    mode: 'engine',
    socketPath: join(tempDir('halpi2-eng-'), 'none.sock'),
    engine: { poweroffCommand: 'true' },
  });
  while (app2.pluginErrors.length === 0) await new Promise((r) => setImmediate(r));
  t.equal(app2.pluginErrors[0], "Permission denied on /dev/i2c-1: add the Signal K server's user to the 'i2c' group");
  await plugin2.stop();
});

t.test('auto in engine mode hands the controller over to a halpid that appears, watchdog left armed', async (t) => {
  const clock = new FakeClock();
  const sim = new SimulatedController({ clock, start: 'host-running', hostGated: true });
  const dir = tempDir('halpi2-handover-');
  const socketPath = join(dir, 'h.sock');
  const app = fakeApp();
  const plugin = createPlugin(app, { clock, exists: () => true, access: () => {}, openI2c: async () => sim });
  plugin.start({ mode: 'auto', socketPath, engine: { poweroffCommand: 'true' } });
  while (!plugin.current) await new Promise((r) => setImmediate(r));
  await clock.advanceUntil(() => sim.watchdogActiveMs === 60_000, 2000);
  // halpid starts.
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"daemon_version":"5.1.0"}');
  });
  await new Promise<void>((r) => server.listen(socketPath, () => r()));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  );
  await clock.advance(30_000);
  while (plugin.current?.mode !== 'client') {
    await new Promise((r) => setImmediate(r));
    await clock.advance(100);
  }
  t.equal(plugin.current.mode, 'client', 'now a client of halpid');
  t.equal(sim.watchdogActiveMs, 60_000, 'the watchdog was not written on the way out');
  const done = plugin.stop();
  await clock.advance(100);
  await done;
});

/** i2c-bus as `npm --ignore-scripts install` leaves it: the package without its build/ directory. */
function unbuiltI2cBus(): () => Promise<never> {
  const dir = tempDir('halpi2-unbuilt-');
  for (const pkg of ['i2c-bus', 'bindings', 'file-uri-to-path']) {
    cpSync(join(ROOT, 'node_modules', pkg), join(dir, 'node_modules', pkg), {
      recursive: true,
      filter: (src) => !/\/i2c-bus\/build(\/|$)/.test(src),
    });
  }
  writeFileSync(join(dir, 'index.js'), '');
  const req = createRequire(join(dir, 'index.js'));
  return async () => req('i2c-bus') as never;
}

t.test('engine mode with i2c-bus not built (an App Store install): one line that says what to do', async (t) => {
  const load = unbuiltI2cBus();
  await t.rejects(load(), /Could not locate the bindings file/, 'the real error of an unbuilt module');
  const deps = {
    exists: () => true,
    access: () => {},
    openI2c: (b: number, a: number) => LinuxI2cBus.open(b, a, { exists: () => true, load }),
  };
  const app = fakeApp();
  const plugin = createPlugin(app, { clock: new FakeClock(), ...deps });
  plugin.start({
    mode: 'engine',
    socketPath: join(tempDir('halpi2-eng-'), 'none.sock'),
    engine: { poweroffCommand: 'true' },
  });
  while (app.pluginErrors.length === 0) await new Promise((r) => setImmediate(r));
  t.equal(
    app.pluginErrors[0],
    'Cannot drive the controller on /dev/i2c-1: the i2c-bus module is not built (the App Store installs plugins without build scripts). ' +
      'Install halpid and use mode "client", or build it with "cd ~/.signalk && npm rebuild i2c-bus" (needs python3, make and g++) and restart Signal K.',
  );
  t.notMatch(app.pluginErrors[0], /\n/, 'one line');
  await plugin.stop();
  // auto says that no halpid answered either.
  const app2 = fakeApp();
  const plugin2 = createPlugin(app2, { clock: new FakeClock(), ...deps });
  const socketPath = join(tempDir('halpi2-auto-'), 'none.sock');
  plugin2.start({ mode: 'auto', socketPath, engine: { poweroffCommand: 'true' } });
  while (app2.pluginErrors.length === 0) await new Promise((r) => setImmediate(r));
  t.equal(app2.pluginErrors[0], `No halpid answered at ${socketPath} (no socket). ${app.pluginErrors[0]}`);
  await plugin2.stop();
  t.match(
    noI2cModule("Cannot find package 'i2c-bus' imported from /x", 1),
    /npm install i2c-bus@5\.2\.3/,
    'not installed at all: install it',
  );
});

t.test(
  'auto as a client: halpid gone for longer than CLIENT_GRACE_MS → the plugin drives the controller itself',
  async (t) => {
    const { CLIENT_GRACE_MS } = await import('../../plugin/plugin.js');
    const clock = new FakeClock();
    const sim = new SimulatedController({ clock, start: 'host-running', hostGated: true });
    const socketPath = join(tempDir('halpi2-gone-'), 'h.sock');
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"daemon_version":"5.1.0"}');
    });
    await new Promise<void>((r) => server.listen(socketPath, () => r()));
    const app = fakeApp();
    const plugin = createPlugin(app, { clock, exists: () => true, access: () => {}, openI2c: async () => sim });
    plugin.start({ mode: 'auto', socketPath, engine: { poweroffCommand: 'true' } });
    t.teardown(async () => {
      const done = plugin.stop();
      await clock.advance(500);
      await done;
    });
    while (!plugin.current) await new Promise((r) => setImmediate(r));
    t.equal(plugin.current.mode, 'client', 'halpid answers: a client');
    t.equal(sim.watchdogActiveMs, 0, 'the controller untouched while halpid owns it');
    // halpid goes away (stopped, or crashed for good).
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
    const gone = clock.now();
    for (let i = 0; plugin.current?.mode !== 'engine'; i++) {
      if (i > 600)
        throw new Error(
          `still ${plugin.current?.mode} ${(clock.now() - gone) / 1000} s after halpid went (${app.statuses.at(-1)})`,
        );
      await new Promise((r) => setImmediate(r));
      await clock.advance(1000);
    }
    t.ok(clock.now() - gone >= CLIENT_GRACE_MS, `not before the grace (${(clock.now() - gone) / 1000} s)`);
    await clock.advanceUntil(() => sim.watchdogActiveMs === 60_000, 5000);
    t.equal(sim.watchdogActiveMs, 60_000, 'the plugin armed its own watchdog');
    await clock.advanceUntil(
      () =>
        app.values.has('electrical.halpi.dcInputVoltage') &&
        typeof app.values.get('electrical.halpi.dcInputVoltage') === 'number',
      5000,
    );
    t.match(app.statuses.at(-1), /^Controlling HALPI2 on \/dev\/i2c-1/);
  },
);

t.test('engine mode without a controller: says so, and looks again until one answers', async (t) => {
  const { REPROBE_MS } = await import('../../plugin/plugin.js');
  const clock = new FakeClock();
  const sim = new SimulatedController({ clock, start: 'host-running', hostGated: true });
  let present = false;
  const app = fakeApp();
  const plugin = createPlugin(app, { clock, exists: () => present, access: () => {}, openI2c: async () => sim });
  plugin.start({
    mode: 'engine',
    socketPath: join(tempDir('halpi2-eng-'), 'none.sock'),
    engine: { poweroffCommand: 'true' },
  });
  t.teardown(async () => {
    const done = plugin.stop();
    await clock.advance(500);
    await done;
  });
  while (app.pluginErrors.length === 0) await new Promise((r) => setImmediate(r));
  t.same(app.pluginErrors, ['No HALPI2 controller on /dev/i2c-1: no such device']);
  present = true; // the module loaded, the overlay enabled, …
  await clock.advance(REPROBE_MS);
  for (let i = 0; !plugin.current; i++) {
    if (i > 1000) throw new Error(`no engine after the reprobe: ${app.pluginErrors.at(-1)}`);
    await new Promise((r) => setImmediate(r));
  }
  t.equal(plugin.current.mode, 'engine');
});

t.test('auto with nothing found looks again: a halpid that starts later makes a client', async (t) => {
  const { REPROBE_MS } = await import('../../plugin/plugin.js');
  const clock = new FakeClock();
  const socketPath = join(tempDir('halpi2-later-'), 'h.sock');
  const app = fakeApp();
  const plugin = createPlugin(app, { clock, exists: () => false });
  plugin.start({ mode: 'auto', socketPath, engine: { poweroffCommand: 'true' } });
  t.teardown(async () => {
    const done = plugin.stop();
    await clock.advance(500);
    await done;
  });
  while (app.pluginErrors.length === 0) await new Promise((r) => setImmediate(r));
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"daemon_version":"5.1.0"}');
  });
  await new Promise<void>((r) => server.listen(socketPath, () => r()));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  );
  await clock.advance(REPROBE_MS);
  for (let i = 0; !plugin.current; i++) {
    if (i > 100_000) throw new Error(`no client after the reprobe: ${app.pluginErrors.at(-1)}`);
    await new Promise((r) => setImmediate(r));
  }
  t.equal(plugin.current.mode, 'client');
});

t.test('signalk-halpi enabled beside it: the status says to disable it; a failing check is no error', async (t) => {
  const { SIDE_BY_SIDE } = await import('../../plugin/plugin.js');
  const socketPath = join(tempDir('halpi2-side-'), 'none.sock');
  const asked: string[] = [];
  const app = fakeApp();
  app.pluginEnabled = (id) => {
    asked.push(id);
    return true;
  };
  const plugin = createPlugin(app, { clock: new FakeClock(), exists: () => false });
  plugin.start({ mode: 'auto', socketPath, engine: { poweroffCommand: 'true' } });
  t.same(asked, ['signalk-halpi']);
  t.equal(app.statuses[0], `Starting…. ${SIDE_BY_SIDE}`);
  while (app.pluginErrors.length === 0) await new Promise((r) => setImmediate(r));
  t.equal(app.pluginErrors[0], `${nothingFound(socketPath, 'no socket', 1, 'no such device')}. ${SIDE_BY_SIDE}`);
  await plugin.stop();
  const app2 = fakeApp();
  app2.pluginEnabled = () => {
    throw new Error('no plugin settings');
  };
  const plugin2 = createPlugin(app2, { clock: new FakeClock(), exists: () => false });
  plugin2.start({ mode: 'auto', socketPath, engine: { poweroffCommand: 'true' } });
  t.equal(app2.statuses[0], 'Starting…');
  const stopping = plugin2.stop();
  t.equal(plugin2.stop(), stopping, 'a second stop waits for the same end');
  await stopping;
});

t.test("engine mode: a poweroff command that fails is the shutdown notification's emergency", async (t) => {
  const clock = new FakeClock();
  const sim = new SimulatedController({ clock, start: 'host-running', hostGated: true });
  const app = fakeApp();
  const plugin = createPlugin(app, { clock, exists: () => true, access: () => {}, openI2c: async () => sim });
  plugin.start({
    mode: 'engine',
    socketPath: join(tempDir('halpi2-poweroff-'), 'none.sock'),
    engine: { poweroffCommand: 'exit 3', blackoutTimeLimit: 1 },
  });
  t.teardown(async () => {
    const done = plugin.stop();
    await clock.advance(500);
    await done;
  });
  const S = 'electrical.halpi.daemonState';
  while (!plugin.current) await new Promise((r) => setImmediate(r));
  await clock.advanceUntil(() => app.values.get(S) === 'OK', 5000);
  const failed = app.next(
    'notifications.electrical.halpi.shutdown',
    (v) => (v as { state?: string }).state === 'emergency',
  );
  sim.setPower(false);
  await clock.advanceUntil(() => app.values.get(S) === 'SHUTDOWN' || app.values.get(S) === 'DEAD', 10_000);
  // The command runs as a real process: its exit is the event awaited, bounded so a lost one fails loudly.
  let bound: NodeJS.Timeout | undefined;
  const n = await Promise.race([
    failed,
    new Promise((_, reject) => {
      bound = setTimeout(
        () =>
          reject(
            new Error(`no emergency: ${JSON.stringify(app.values.get('notifications.electrical.halpi.shutdown'))}`),
          ),
        30_000,
      );
    }),
  ]).finally(() => clearTimeout(bound));
  t.same(n, {
    state: 'emergency',
    method: ['visual', 'sound'],
    message: 'HALPI2 poweroff command failed: exited with code 3; power will be cut within 60 s',
  });
});
