// The plugin in simulator mode against a fake ServerAPI, on a fake clock: values with units, one
// delta per snapshot, the PUT handlers, the blackout alarm and its countdown, the shutdown, and
// what stop() leaves behind.
import t from 'tap';
import { FakeClock } from '../../engine/clock.js';
import { SimulatedController } from '../../engine/simulator/controller.js';
import { createPlugin } from '../../plugin/plugin.js';
import { fakeApp } from '../helpers/signalk.js';
import { mount } from '../helpers/plugin-router.js';
import { tempDir } from '../helpers/tmp.js';
import { join } from 'node:path';

const P = 'electrical.halpi';

/** A simulator with the synchronous write of the real I2C bus, which the exit hook needs: records what it wrote. */
class SyncWriteSimulator extends SimulatedController {
  readonly syncWrites: number[][] = [];
  writeSync(data: Uint8Array): void {
    this.syncWrites.push([...data]);
  }
}

function rig(config: Record<string, unknown> = {}) {
  const clock = new FakeClock();
  let sim: SyncWriteSimulator | undefined;
  const app = fakeApp();
  const plugin = createPlugin(app, {
    clock,
    simulator: () => (sim = new SyncWriteSimulator({ clock, start: 'host-running', hostGated: true })),
  });
  // A harmless poweroff command, although the simulator never runs it.
  plugin.start({
    mode: 'simulator',
    pollInterval: 200,
    ...config,
    engine: { poweroffCommand: 'true', ...((config.engine as object) ?? {}) },
  });
  return {
    app,
    plugin,
    clock,
    get sim() {
      return sim!;
    },
  };
}

const stopAll = async (r: ReturnType<typeof rig>) => {
  const done = r.plugin.stop();
  await r.clock.advance(300);
  await done;
};

t.test('values arrive in SI units with their metadata, one delta per snapshot', async (t) => {
  const r = rig();
  t.teardown(() => stopAll(r));
  t.equal(r.app.statuses[0], 'Starting…');
  await r.clock.advanceUntil(() => r.app.values.has(`${P}.dcInputVoltage`), 2000);
  t.equal(r.app.statuses.at(-1), 'Simulated HALPI2 controller (no hardware)');
  const v = r.app.values;
  t.ok(
    Math.abs((v.get(`${P}.dcInputVoltage`) as number) - r.sim.snapshot().inputs.V_in) < 0.01,
    'the simulated input voltage',
  );
  t.ok((v.get(`${P}.mcuTemperature`) as number) > 233.15, 'temperatures in kelvin');
  t.equal(v.get(`${P}.powerState`), r.sim.state);
  t.equal(v.get(`${P}.mode`), 'simulator');
  t.equal(v.get(`${P}.daemonState`), 'OK');
  t.same(v.get(`${P}.usb.port0`), true);
  t.equal(
    v.get(`${P}.config.ledBrightness`),
    r.sim.snapshot().controller.led_brightness / 255,
    'brightness as a ratio',
  );
  t.ok(
    Math.abs(
      (v.get(`${P}.inputPower`) as number) -
        (v.get(`${P}.dcInputVoltage`) as number) * (v.get(`${P}.inputCurrent`) as number),
    ) < 1e-9,
  );
  const meta = r.app.meta.get(`${P}.dcInputVoltage`)!;
  t.equal(meta.units, 'V');
  t.equal(meta.displayName, 'HALPI2 input voltage');
  t.same(meta.displayScale, { lower: 0, upper: 32, type: 'linear' });
  t.same(meta.zones, [
    { lower: 9, upper: 10, state: 'warn', message: 'HALPI2 input voltage low' },
    { lower: 32, state: 'warn', message: 'HALPI2 input voltage above 32 V' },
  ]);
  t.equal(meta.timeout, 5);
  t.equal(r.app.meta.get(`${P}.mcuTemperature`)!.units, 'K');
  t.equal(r.app.meta.get(`${P}.usb.port0`)!.supportsPut, true, 'USB ports take PUT');
  t.same(
    r.app.meta.get(`${P}.commands.shutdown`),
    { supportsPut: false },
    'shutdown is off by default, and its metadata says so',
  );
  // Once the controller has settled (co-operative mode after the watchdog is armed), a snapshot
  // is one delta with the measurements, without repeating the discrete values.
  await r.clock.advanceUntil(() => r.app.values.get(`${P}.powerState`) === 'OperationalCoOp', 2000);
  await r.clock.advance(100);
  const before = r.app.deltas.length;
  await r.clock.advance(200);
  const fresh = r.app.deltas.slice(before).filter((d) => d.updates.some((u) => u.values));
  t.equal(fresh.length, 1, 'one delta');
  const paths = fresh[0]!.updates[0]!.values!.map((x) => x.path);
  t.ok(paths.includes(`${P}.dcInputVoltage`) && paths.includes(`${P}.supercapVoltage`), 'the measurements');
  t.notOk(paths.includes(`${P}.firmwareVersion`), 'identity only on change');
  t.notOk(paths.includes(`${P}.usb.port0`), 'discrete only on change');
});

t.test('PUT: a USB port switches, a bad value is a 400, and the new value is published at once', async (t) => {
  const r = rig();
  t.teardown(() => stopAll(r));
  await r.clock.advanceUntil(() => r.app.values.has(`${P}.usb.port1`), 2000);
  const res = r.app.put(`${P}.usb.port1`, false);
  await r.clock.advance(50);
  t.same(await res, { state: 'COMPLETED', statusCode: 200 });
  t.equal(r.sim.snapshot().controller.usb & 2, 0, 'the simulated port is off');
  t.equal(r.app.values.get(`${P}.usb.port1`), false, 'published');
  t.same(await r.app.put(`${P}.usb.port1`, 'off'), {
    state: 'COMPLETED',
    statusCode: 400,
    message: `${P}.usb.port1 must be true or false`,
  });
  const bright = r.app.put(`${P}.config.ledBrightness`, 0.5);
  await r.clock.advance(50);
  t.same(await bright, { state: 'COMPLETED', statusCode: 200 });
  t.equal(r.sim.snapshot().controller.led_brightness, 128, 'round(0.5 × 255)');
  t.same(await r.app.put(`${P}.config.powerOnThreshold`, 10.5), {
    state: 'COMPLETED',
    statusCode: 400,
    message: `${P}.config.powerOnThreshold must be a number from 5 to 10 V`,
  });
  t.same(
    await r.app.put(`${P}.commands.shutdown`, { confirm: 'shutdown' }),
    {
      state: 'COMPLETED',
      statusCode: 405,
      message: `PUT not supported for ${P}.commands.shutdown`,
    },
    'no shutdown handler while control.power is off',
  );
});

t.test('a power cut: alarm with the countdown, emergency at the limit, the poweroff simulated', async (t) => {
  const r = rig({ control: { power: false } });
  t.teardown(() => stopAll(r));
  const N = `notifications.${P}.blackout`;
  await r.clock.advanceUntil(() => (r.app.values.get(N) as { state?: string })?.state === 'normal', 2000);
  t.same(r.app.values.get(N), { state: 'normal', method: [], message: 'HALPI2 input power OK' });
  r.sim.setPower(false);
  await r.clock.advanceUntil(() => (r.app.values.get(N) as { state?: string })?.state === 'alarm', 1000);
  const alarm = r.app.values.get(N) as { message: string; method: string[] };
  t.same(alarm.method, ['visual', 'sound']);
  t.match(alarm.message, /^HALPI2 input power lost, running on supercap \(V_cap \d+\.\d\d V, shutdown in [45] s\)$/);
  await r.clock.advance(2100);
  t.match((r.app.values.get(N) as { message: string }).message, /shutdown in [23] s\)$/, 'the countdown is refreshed');
  await r.clock.advanceUntil(() => (r.app.values.get(N) as { state?: string })?.state === 'emergency', 4000);
  t.same(r.app.values.get(N), {
    state: 'emergency',
    method: ['visual', 'sound'],
    message: 'HALPI2 is shutting down after input power loss',
  });
  t.match(r.app.values.get(`${P}.daemonState`), /^(SHUTDOWN|DEAD)$/);
});

t.test('a blackout that ends in time goes back to normal', async (t) => {
  const r = rig();
  t.teardown(() => stopAll(r));
  const N = `notifications.${P}.blackout`;
  await r.clock.advanceUntil(() => r.app.values.has(N), 2000);
  r.sim.setPower(false);
  await r.clock.advanceUntil(() => (r.app.values.get(N) as { state?: string })?.state === 'alarm', 1000);
  r.sim.setPower(true);
  await r.clock.advanceUntil(() => (r.app.values.get(N) as { state?: string })?.state === 'normal', 3000);
  t.equal((r.app.values.get(N) as { message: string }).message, 'HALPI2 input power OK');
  t.equal(r.app.values.get(`${P}.daemonState`), 'OK');
});

t.test('shutdown and standby with control.power: the confirmation object is required', async (t) => {
  const r = rig({ control: { power: true } });
  t.teardown(() => stopAll(r));
  await r.clock.advanceUntil(() => r.app.values.has(`${P}.powerState`), 2000);
  t.same(await r.app.put(`${P}.commands.shutdown`, true), {
    state: 'COMPLETED',
    statusCode: 400,
    message: `${P}.commands.shutdown must be {"confirm":"shutdown"}`,
  });
  t.match(await r.app.put(`${P}.commands.standby`, { confirm: 'standby', datetime: '2000-01-01T00:00:00Z' }), {
    statusCode: 400,
    message: /must be a time in the future \(got "2000-01-01T00:00:00Z"\)$/,
  });
  t.match(await r.app.put(`${P}.commands.standby`, { confirm: 'standby' }), { statusCode: 400 });
  const res = r.app.put(`${P}.commands.shutdown`, { confirm: 'shutdown' });
  await r.clock.advance(100);
  t.same(await res, { state: 'COMPLETED', statusCode: 200 });
  await r.clock.advanceUntil(() => r.sim.state === 'ManualShutdown' || r.sim.state === 'PoweredDownManual', 2000);
  t.pass(`the controller took the request (${r.sim.state})`);
});

t.test('stop: the watchdog is disarmed, measurements go to null, notifications say monitoring stopped', async (t) => {
  const hooksBefore = process.listeners('exit');
  const r = rig();
  await r.clock.advanceUntil(() => r.app.values.has(`${P}.dcInputVoltage`), 2000);
  const hooks = process.listeners('exit').filter((l) => !hooksBefore.includes(l));
  t.equal(hooks.length, 1, 'one exit hook while the plugin drives the controller');
  await r.clock.advance(600);
  t.equal(r.sim.watchdogActiveMs, 60_000, 'the plugin arms its own 60 s watchdog');
  // A server that exits without stopping the plugin: Node runs the hook, which may only write synchronously.
  hooks[0]!.call(process, 0);
  t.same(r.sim.syncWrites, [[0x12, 0, 0]], 'the exit hook writes watchdog timeout 0 (disarmed) on the bus');
  await stopAll(r);
  t.equal(r.sim.watchdogActiveMs, 0, 'disarmed');
  t.notOk(process.listeners('exit').includes(hooks[0]!), 'the hook goes with a clean stop');
  t.equal(r.app.values.get(`${P}.dcInputVoltage`), null);
  t.equal(r.app.values.get(`${P}.usb.port0`), null);
  t.match(r.app.values.get(`${P}.firmwareVersion`), /^\d+\.\d+\.\d+/, 'identity stays');
  for (const n of ['blackout', 'shutdown', 'connection']) {
    t.same(
      r.app.values.get(`notifications.${P}.${n}`),
      { state: 'normal', method: [], message: 'HALPI2 monitoring stopped' },
      n,
    );
  }
  const count = r.app.deltas.length;
  await r.clock.advance(5000);
  t.equal(r.app.deltas.length, count, 'nothing more is published');
  t.equal(r.clock.pending, 0, 'no timer left');
  await r.plugin.stop(); // idempotent
});

t.test("signalk-halpi's values under the same prefix are warned about", async (t) => {
  const clock = new FakeClock();
  const app = fakeApp();
  app.getSelfPath = (path: string) => (path === `${P}.dcInputVoltage` ? { value: 12.1, $source: 'halpi' } : undefined);
  const plugin = createPlugin(app, {
    clock,
    simulator: () => new SimulatedController({ clock, start: 'host-running', hostGated: true }),
  });
  plugin.start({ mode: 'simulator', engine: { poweroffCommand: 'true' } });
  t.match(app.errors, [
    /^electrical\.halpi values from another source \(halpi\) are in the data tree; disable the signalk-halpi plugin/,
  ]);
  const done = plugin.stop();
  await clock.advance(300);
  await done;
});

t.test('invalid settings: replaced by defaults, logged, and named in the status', async (t) => {
  const r = rig({ pollInterval: 5 });
  t.teardown(() => stopAll(r));
  t.match(r.app.errors, [/^Invalid setting replaced by its default: pollInterval: .*\(got 5\); using 1000$/]);
  t.match(r.app.statuses[0], /^Starting… \(invalid settings replaced by defaults: pollInterval: /);
  // Still named once the plugin runs: the running status does not hide them.
  await r.clock.advanceUntil(() => r.app.values.has(`${P}.dcInputVoltage`), 5000);
  t.match(
    r.app.statuses.at(-1),
    /^Simulated HALPI2 controller \(no hardware\) \(invalid settings replaced by defaults: pollInterval: .*\(got 5\); using 1000\)$/,
  );
});

t.test("the NUT server in simulator mode: UPS halpi2 with the engine's values; closed on stop", async (t) => {
  const r = rig({ nut: { listen: '0' } });
  await r.clock.advanceUntil(() => r.app.values.has(`${P}.dcInputVoltage`), 2000);
  const src = r.plugin.current as import('../../plugin/engine-source.js').EngineSource;
  await src.nutStarted();
  const port = src.nutPort!;
  t.ok(port > 0, `listening on ${port}`);
  const { connect } = await import('node:net');
  const ask = (line: string) =>
    new Promise<string>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1');
      let text = '';
      sock.setEncoding('utf8');
      sock.on('data', (c: string) => {
        text += c;
        if (text.endsWith('\n')) {
          sock.destroy();
          resolve(text.trim());
        }
      });
      sock.on('error', reject);
      sock.write(`${line}\n`);
    });
  t.equal(await ask('GET VAR halpi2 ups.status'), 'VAR halpi2 ups.status "OL"');
  t.match(await ask('GET VAR halpi2 battery.voltage'), /^VAR halpi2 battery\.voltage "\d+\.\d\d"$/);
  await stopAll(r);
  await t.rejects(ask('NETVER'), { code: 'ECONNREFUSED' }, 'closed with the plugin');
});

t.test("the plugin's NUT user is a secondary: PRIMARY and FSD refused, ups.status untouched", async (t) => {
  const r = rig({ nut: { enabled: true, listen: '0', user: 'mon', password: 's3cret' } });
  t.teardown(() => stopAll(r));
  await r.clock.advanceUntil(() => r.app.values.has(`${P}.dcInputVoltage`), 2000);
  const src = r.plugin.current as import('../../plugin/engine-source.js').EngineSource;
  await src.nutStarted();
  const { nutClient } = await import('../helpers/nut-client.js');
  const c = nutClient(src.nutPort!);
  t.teardown(() => c.sock.destroy());
  c.send('USERNAME mon\nPASSWORD s3cret\nLOGIN halpi2\nPRIMARY halpi2\nFSD halpi2\nGET VAR halpi2 ups.status\n');
  t.same(await c.lines(6), ['OK', 'OK', 'OK', 'ERR ACCESS-DENIED', 'ERR ACCESS-DENIED', 'VAR halpi2 ups.status "OL"']);
});

t.test('a server with setDefaultMetadata (2.30+) gets the metadata through it, never as a delta', async (t) => {
  const clock = new FakeClock();
  const app = fakeApp();
  const defaults = new Map<string, Record<string, unknown>>();
  // What keeps the user's own edits in the Data Browser; a meta delta would overwrite them at every start.
  app.setDefaultMetadata = async (path, value) => void defaults.set(path, value);
  const plugin = createPlugin(app, {
    clock,
    simulator: () => new SimulatedController({ clock, start: 'host-running', hostGated: true }),
  });
  plugin.start({ mode: 'simulator', pollInterval: 200, engine: { poweroffCommand: 'true' } });
  await clock.advanceUntil(() => app.values.has(`${P}.dcInputVoltage`), 2000);
  t.equal(defaults.get(`${P}.dcInputVoltage`)?.units, 'V');
  t.equal(defaults.get(`${P}.mcuTemperature`)?.units, 'K');
  t.notOk(app.meta.has(`${P}.dcInputVoltage`), 'no meta delta for the paths');
  const done = plugin.stop();
  await clock.advance(300);
  await done;
});

t.test(
  "the /sim routes: the running simulator's state; 404 when driving a real controller; 503 when stopped",
  async (t) => {
    const r = rig();
    const get = await mount(t, (router) => r.plugin.registerWithRouter(router as never));
    await r.clock.advanceUntil(() => r.app.values.has(`${P}.dcInputVoltage`), 2000);
    const sim = await get('/plugins/signalk-halpi2/sim');
    t.equal(sim.status, 200);
    t.equal(sim.body.controller.usb, r.sim.snapshot().controller.usb, "the simulator's own state");
    await stopAll(r);
    t.same(await get('/plugins/signalk-halpi2/sim'), { status: 503, body: { error: 'Plugin is not running' } });
    // Engine mode on a controller: no simulator to control.
    const clock = new FakeClock();
    const controller = new SimulatedController({ clock, start: 'host-running', hostGated: true });
    const app = fakeApp();
    const plugin = createPlugin(app, { clock, exists: () => true, access: () => {}, openI2c: async () => controller });
    const getE = await mount(t, (router) => plugin.registerWithRouter(router as never));
    plugin.start({
      mode: 'engine',
      socketPath: join(tempDir('halpi2-simroutes-'), 'none.sock'),
      engine: { poweroffCommand: 'true' },
    });
    await clock.advanceUntil(() => app.values.has(`${P}.dcInputVoltage`), 2000);
    t.same(await getE('/plugins/signalk-halpi2/sim'), { status: 404, body: { error: 'Not in simulator mode' } });
    const done = plugin.stop();
    await clock.advance(500);
    await done;
  },
);
