// The plugin's life cycle (plugin/plugin.ts) on a fake Signal K app and a fake clock, with the
// halpid probe and the I2C device injected: what the admin UI shows, which source drives the data,
// `auto` looking again (a halpid that appears, a halpid gone for longer than the grace), stops
// that come in the middle of a probe, restarts, and the routes before start and after stop.
import t from 'tap';
import { createServer, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { FakeClock } from '../../engine/clock.js';
import { SimulatedController } from '../../engine/simulator/controller.js';
import { adminSchema, uiSchema } from '../../plugin/admin-schema.js';
import { CLIENT_GRACE_MS, createPlugin, REPROBE_MS } from '../../plugin/plugin.js';
import type { Delta } from '../../plugin/publisher.js';
import { fakeApp } from '../helpers/signalk.js';
import { mount } from '../helpers/plugin-router.js';
import { tempDir } from '../helpers/tmp.js';

const P = 'electrical.halpi';
const STOPPED = { state: 'normal', method: [], message: 'HALPI2 monitoring stopped' };

function gate() {
  let open!: () => void;
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

/**
 * Lets pending promise chains and socket callbacks run until `cond` holds; fails loudly if it
 * never does (bounded in turns of the event loop, generously for a loaded machine).
 */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 500_000) throw new Error(`never: ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * A plugin whose halpid probe (`GET /version`) and I2C device are in the test's hands: `probe.up`
 * says whether halpid answers, `dev.present` whether /dev/i2c-1 exists; each open of the device
 * gives a fresh simulated controller on the plugin's clock. Gates hold a probe or an open.
 */
function rig(t: { teardown(fn: () => unknown): void }, opts: { halpid?: boolean; device?: boolean } = {}) {
  const clock = new FakeClock();
  const app = fakeApp();
  const debug: string[] = [];
  app.debug = (...args) => void debug.push(args.map(String).join(' '));
  const probe = { up: opts.halpid ?? false, calls: 0, gate: null as Promise<void> | null };
  const dev = {
    present: opts.device ?? false,
    opens: 0,
    closes: 0,
    failClose: false,
    /** The controller's bus stops completing transactions (a hung adapter). */
    hang: false,
    /** Thrown by the existence check of /dev/i2c-1 (an unexpected failure while looking). */
    existsError: null as Error | null,
    gate: null as Promise<void> | null,
    sims: [] as SimulatedController[],
    get sim(): SimulatedController {
      return this.sims.at(-1)!;
    },
  };
  class Controller extends SimulatedController {
    override write(data: Uint8Array): Promise<void> {
      return dev.hang ? new Promise(() => {}) : super.write(data);
    }
    override writeRead(data: Uint8Array, length: number): Promise<Uint8Array> {
      return dev.hang ? new Promise(() => {}) : super.writeRead(data, length);
    }
    override readNow(data: Uint8Array, length: number): Uint8Array | undefined {
      return dev.hang ? undefined : super.readNow(data, length);
    }
    override async close(): Promise<void> {
      dev.closes++;
      if (dev.failClose) throw new Error('EBADF: bad file descriptor, close');
    }
  }
  const plugin = createPlugin(app, {
    clock,
    request: async () => {
      probe.calls++;
      if (probe.gate) await probe.gate;
      if (!probe.up) throw Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' });
      return { status: 200, type: 'application/json', text: '{"daemon_version":"5.1.0"}' } as never;
    },
    exists: () => {
      if (dev.existsError) throw dev.existsError;
      return dev.present;
    },
    access: () => {},
    openI2c: async () => {
      dev.opens++;
      const sim = new Controller({ clock, start: 'host-running', hostGated: true });
      dev.sims.push(sim);
      if (dev.gate) await dev.gate;
      return sim;
    },
  });
  const stop = async () => {
    const done = plugin.stop();
    await clock.advance(1000);
    await done;
  };
  t.teardown(stop);
  const socketPath = join(tempDir('halpi2-life-'), 'h.sock');
  const config = (mode: string, extra: Record<string, unknown> = {}) => ({
    mode,
    socketPath,
    engine: { poweroffCommand: 'true' },
    ...extra,
  });
  /** Deltas that carry values (the PUT metadata the fake server itself sends aside). */
  const valueDeltas = () => app.deltas.filter((d) => d.updates.some((u) => u.values?.length));
  return { clock, app, debug, probe, dev, plugin, stop, socketPath, config, valueDeltas };
}

/** A halpid on a Unix socket with the event stream only (every other path 404): the test sends the events. */
async function streamingHalpid(t: { teardown(fn: () => unknown): void }, path: string) {
  let stream: ServerResponse | null = null;
  let streams = 0;
  const server = createServer((req, res) => {
    if ((req.url ?? '').startsWith('/events')) {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.flushHeaders();
      stream = res;
      streams++;
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((r) => server.listen(path, () => r()));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  );
  return {
    get streams() {
      return streams;
    },
    send(event: string, data: unknown) {
      stream!.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
  };
}

t.test(
  'before start: the plugin as the server lists it, no source, a stop that resolves, routes say 503',
  async (t) => {
    const r = rig(t);
    t.equal(r.plugin.id, 'signalk-halpi2');
    t.equal(r.plugin.name, 'HALPI2 Power');
    t.match(r.plugin.description, /^HALPI2 power: .*runs the blackout shutdown itself or reads a running halpid$/);
    t.same(r.plugin.schema(), adminSchema(), 'the settings form');
    t.equal(r.plugin.uiSchema(), uiSchema);
    t.equal(r.plugin.current, null);
    await r.plugin.stop();
    const get = await mount(t, (router) => r.plugin.registerWithRouter(router as never));
    const notRunning = { status: 503, body: { error: 'Plugin is not running' } };
    t.same(await get('/plugins/signalk-halpi2/history'), notRunning);
    t.same(await get('/plugins/signalk-halpi2/sim'), notRunning);
    t.same(r.app.statuses, [], 'nothing shown');
    t.same(r.app.deltas, [], 'nothing published');
  },
);

t.test("simulator mode on the built-in simulator: the plugin's id on every delta, PUTs on vessels.self", async (t) => {
  const clock = new FakeClock();
  const app = fakeApp();
  const sent: Array<{ id: string; delta: Delta }> = [];
  const handle = app.handleMessage;
  app.handleMessage = (id, delta) => {
    sent.push({ id, delta });
    handle(id, delta);
  };
  const contexts: string[] = [];
  const register = app.registerPutHandler;
  app.registerPutHandler = (context, path, handler) => {
    contexts.push(context);
    register(context, path, handler);
  };
  // No simulator injected: the plugin makes its own, on its clock, as in a real server.
  const plugin = createPlugin(app, { clock });
  const get = await mount(t, (router) => plugin.registerWithRouter(router as never));
  plugin.start({ mode: 'simulator', engine: { poweroffCommand: 'true' } });
  t.teardown(async () => {
    const done = plugin.stop();
    await clock.advance(1000);
    await done;
  });
  // The simulated host runs and the plugin's watchdog makes the controller co-operative.
  await clock.advanceUntil(() => app.values.get(`${P}.powerState`) === 'OperationalCoOp', 5000);
  t.equal(app.statuses.at(-1), 'Simulated HALPI2 controller (no hardware)');
  t.equal(typeof app.values.get(`${P}.dcInputVoltage`), 'number');
  t.same(app.pluginErrors, [], 'no error on the way: the simulated host was running from the start');
  t.same(app.errors, []);
  const sim = await get('/plugins/signalk-halpi2/sim');
  t.equal(sim.status, 200, "the simulator's controls are served");
  t.equal(typeof sim.body.controller.usb, 'number');
  const own = sent.filter((s) => s.id !== 'fake'); // 'fake': the fake server's own PUT metadata
  t.ok(own.length > 2);
  t.same(new Set(own.map((s) => s.id)), new Set(['signalk-halpi2']), "every delta has the plugin's id");
  t.ok(
    own.some((s) => s.delta.updates.some((u) => u.meta?.some((m) => m.path === `${P}.commands.shutdown`))),
    'the refused PUT paths are announced as the plugin',
  );
  t.ok(contexts.length > 0);
  t.same(new Set(contexts), new Set(['vessels.self']), 'PUT handlers on the own vessel');
  const res = app.put(`${P}.usb.port2`, false);
  await clock.advance(50);
  t.same(await res, { state: 'COMPLETED', statusCode: 200 });
  t.equal(app.values.get(`${P}.usb.port2`), false);
  // The simulated host switched off cannot read its controller: the data goes stale, as on a HALPI2.
  t.equal((await get('/plugins/signalk-halpi2/sim/host', 'PUT', { cm_on: false })).status, 204);
  await clock.advanceUntil(() => app.values.get(`${P}.dcInputVoltage`) === null, 10_000);
  t.match(app.pluginErrors.at(-1), /^Simulated HALPI2 controller not responding: /);
});

t.test('a second start while running is ignored; a restart runs again and its stop disarms the watchdog', async (t) => {
  const r = rig(t, { device: true });
  r.plugin.start(r.config('engine'));
  r.plugin.start(r.config('simulator'));
  await until(() => r.plugin.current !== null, 'a source');
  t.equal(r.plugin.current!.mode, 'engine', 'the first start stands');
  t.equal(r.app.statuses.filter((s) => s.startsWith('Starting')).length, 1, 'one start');
  await r.clock.advanceUntil(() => r.dev.sim.watchdogActiveMs === 60_000, 5000);
  t.equal(r.dev.opens, 1);
  await r.stop();
  t.equal(r.dev.sim.watchdogActiveMs, 0, 'disarmed at stop');
  t.equal(r.plugin.current, null, 'no source once stopped');

  // Settings saved: Signal K stops the plugin and starts it again.
  r.plugin.start(r.config('engine'));
  await until(() => r.plugin.current !== null, 'a source after the restart');
  t.equal(r.dev.opens, 2, 'the controller opened again');
  await r.clock.advanceUntil(() => r.dev.sim.watchdogActiveMs === 60_000, 5000);
  await r.stop();
  t.equal(r.dev.sim.watchdogActiveMs, 0, 'the second stop disarms it too');
  t.equal(r.dev.closes, 2, 'and closes the bus');
});

t.test('a watchdog that cannot be disarmed at stop is said in the server log', async (t) => {
  const r = rig(t, { device: true });
  r.plugin.start(r.config('engine'));
  await until(() => r.plugin.current !== null, 'a source');
  await r.clock.advanceUntil(() => r.dev.sim.watchdogActiveMs === 60_000, 5000);
  r.dev.sim.faults.add({ kind: 'nack', count: 0 });
  await r.stop();
  t.match(r.app.errors, [/^Failed to disable the watchdog: /]);
});

t.test('stopped while looking for halpid: nothing attached, nothing shown, no more looking', async (t) => {
  for (const mode of ['auto', 'engine']) {
    const r = rig(t, { device: true });
    const held = gate();
    r.probe.gate = held.promise;
    r.plugin.start(r.config(mode));
    await until(() => r.probe.calls === 1, 'the probe');
    const stopping = r.plugin.stop();
    r.probe.up = true; // halpid answers, but too late
    held.open();
    await stopping;
    await r.clock.advance(3 * REPROBE_MS);
    t.same(r.app.statuses, ['Starting…'], `${mode}: no status after the stop`);
    t.same(r.app.pluginErrors, [], `${mode}: no error`);
    t.same(r.valueDeltas(), [], `${mode}: nothing published`);
    t.equal(r.plugin.current, null);
    t.equal(r.probe.calls, 1, `${mode}: no more probes`);
    t.equal(r.dev.opens, 0, `${mode}: the controller left alone`);
    t.equal(r.clock.pending, 0, `${mode}: no timer left`);
  }
});

t.test(
  'stopped while the controller is being opened: the bus is closed again, the controller left alone',
  async (t) => {
    const r = rig(t, { device: true });
    const held = gate();
    r.dev.gate = held.promise;
    r.dev.failClose = true; // a close that fails is no error to show either
    r.plugin.start(r.config('auto'));
    await until(() => r.dev.opens === 1, 'the open');
    const stopping = r.plugin.stop();
    held.open();
    await stopping;
    await r.clock.advance(3 * REPROBE_MS);
    t.equal(r.dev.closes, 1, 'closed');
    const probeReads = r.dev.sim.log.length;
    t.ok(probeReads > 0, 'the probe read the firmware version');
    await r.clock.advance(REPROBE_MS);
    t.equal(r.dev.sim.log.length, probeReads, 'nothing more on the bus');
    t.equal(r.dev.sim.watchdogActiveMs, 0, 'no watchdog armed');
    t.same(r.app.statuses, ['Starting…']);
    t.same(r.app.pluginErrors, []);
    t.same(r.valueDeltas(), []);
    t.equal(r.dev.opens, 1, 'not opened again');
  },
);

t.test('a failure while looking is shown with the settings note, and the plugin goes on looking', async (t) => {
  const r = rig(t, { device: true });
  r.dev.existsError = new Error('udev: the device node vanished');
  r.plugin.start(r.config('auto', { pollInterval: 5 }));
  const note = r.app.statuses[0]!.slice('Starting…'.length);
  t.match(note, /^ \(invalid settings replaced by defaults: pollInterval: .*\(got 5\); using 1000\)$/);
  await until(() => r.app.pluginErrors.length === 1, 'the error');
  t.equal(r.app.pluginErrors[0], `udev: the device node vanished${note}`);
  await r.clock.advance(REPROBE_MS);
  await until(() => r.app.pluginErrors.length === 2, 'the error of the second look');
  t.equal(r.app.pluginErrors[1], `udev: the device node vanished${note}`);
  r.dev.existsError = null;
  await r.clock.advance(REPROBE_MS);
  await until(() => r.plugin.current !== null, 'the controller found');
  t.equal(r.plugin.current!.mode, 'engine');
});

t.test('simulator, client and engine modes do not look again', async (t) => {
  // halpid answers and a controller is there all along: only auto would act on it.
  const sim = rig(t, { halpid: true, device: true });
  sim.plugin.start(sim.config('simulator'));
  const simSource = sim.plugin.current;
  t.equal(simSource?.mode, 'simulator');
  await sim.clock.advance(4 * REPROBE_MS);
  t.equal(sim.plugin.current, simSource, 'simulator: the same source');
  t.equal(sim.probe.calls, 0, 'simulator: halpid never asked');
  t.equal(sim.dev.opens, 0, 'simulator: the controller never opened');

  // Client mode on a halpid that is gone, with a controller there: it stays a client.
  const client = rig(t, { device: true });
  client.plugin.start(client.config('client'));
  const clientSource = client.plugin.current;
  t.equal(clientSource?.mode, 'client');
  await client.clock.advance(3 * CLIENT_GRACE_MS);
  t.match(client.app.pluginErrors.at(-1), /^halpid not reachable at /, 'the data went stale');
  t.equal(client.plugin.current, clientSource, 'client: the same source');
  t.equal(client.probe.calls, 0, 'client: no probe');
  t.equal(client.dev.opens, 0, 'client: the controller never opened');

  // Engine mode keeps the controller when a halpid starts later (auto would hand it over).
  const engine = rig(t, { device: true });
  engine.plugin.start(engine.config('engine'));
  await until(() => engine.plugin.current !== null, 'the engine');
  const engineSource = engine.plugin.current;
  await engine.clock.advanceUntil(() => engine.dev.sim.watchdogActiveMs === 60_000, 5000);
  engine.probe.up = true;
  await engine.clock.advance(4 * REPROBE_MS);
  t.equal(engine.plugin.current, engineSource, 'engine: the same source');
  t.equal(engine.probe.calls, 1, 'engine: halpid asked once, at the start');
  t.equal(engine.dev.opens, 1, 'engine: opened once');
  t.equal(engine.dev.sim.watchdogActiveMs, 60_000, 'engine: still its watchdog');
});

t.test('auto as a client of a halpid that answers: the same connection, the controller never opened', async (t) => {
  const r = rig(t, { halpid: true, device: true });
  r.plugin.start(r.config('auto'));
  await until(() => r.plugin.current !== null, 'the client');
  const source = r.plugin.current;
  t.equal(source!.mode, 'client');
  // Its data goes stale (the socket path has no server), but halpid still answers the probe.
  await r.clock.advance(5 * REPROBE_MS);
  t.equal(r.plugin.current, source, 'the same client');
  t.equal(r.dev.opens, 0);
  t.same(r.debug, []);
  t.notOk(
    r
      .valueDeltas()
      .some((d) => d.updates.some((u) => u.values?.some((v) => JSON.stringify(v.value) === JSON.stringify(STOPPED)))),
    'never "monitoring stopped"',
  );
});

/** Advances a second at a time until a debug line starting with `prefix` is logged; its clock time. */
async function whenLogged(r: ReturnType<typeof rig>, prefix: string, nth = 1): Promise<number> {
  const count = () => r.debug.filter((m) => m.startsWith(prefix)).length;
  for (let i = 0; count() < nth; i++) {
    if (i > 600) throw new Error(`no "${prefix}" within 600 s: ${r.debug.join('; ')}`);
    await r.clock.advance(1000);
  }
  return r.clock.now();
}

t.test('auto: a halpid that answers the probe at the end of the grace keeps the client', async (t) => {
  const r = rig(t, { halpid: true, device: true });
  r.plugin.start(r.config('auto'));
  await until(() => r.plugin.current !== null, 'the client');
  const client = r.plugin.current!;
  t.equal(client.mode, 'client');
  // No server on the socket: the data is stale within 5 s; looks at 30, 60, 90 s… The probe at
  // the grace's end (90 s) finds halpid back (restarted); the next one (120 s) finds it gone.
  const probes: number[] = [];
  while (probes.length < 2) {
    if (r.clock.now() > 10 * REPROBE_MS) throw new Error(`probes only at ${probes.join(', ')}`);
    const calls = r.probe.calls;
    await r.clock.advance(1000);
    if (r.probe.calls > calls) {
      probes.push(r.clock.now());
      if (probes.length === 1) {
        t.equal(r.plugin.current, client, 'halpid answered: still its client');
        r.probe.up = false;
      }
    }
  }
  t.same(probes, [3 * REPROBE_MS, 4 * REPROBE_MS], 'halpid asked once the grace is over, then at every look');
  await until(() => r.plugin.current?.mode === 'engine', 'the engine');
  t.equal(r.debug[0], `halpid is gone from ${r.socketPath}; driving the controller on /dev/i2c-1`, 'in the log');
  await r.clock.advanceUntil(() => r.dev.sim.watchdogActiveMs === 60_000, 5000);
  await r.clock.advanceUntil(() => /^Controlling HALPI2 on \/dev\/i2c-1/.test(r.app.statuses.at(-1) ?? ''), 5000);
});

t.test('auto: the grace counts from the latest loss of halpid, and starts again after a handback', async (t) => {
  const r = rig(t, { halpid: true, device: true });
  const h = await streamingHalpid(t, r.socketPath);
  r.plugin.start(r.config('auto'));
  await until(() => r.plugin.current !== null && h.streams === 1, 'the client on the event stream');
  let v = 12;
  /** halpid sends its values every second until `untilMs`. */
  const fresh = async (untilMs: number) => {
    while (r.clock.now() < untilMs) {
      v = Math.round(v * 100 + 1) / 100;
      const seen = r.app.next(`${P}.dcInputVoltage`, (x) => x === v);
      h.send('values', { V_in: v, V_cap: 10.1, I_in: 0.5, T_mcu: 310, T_pcb: 305, daemon_version: '5.1.0' });
      await seen;
      await r.clock.advance(1000);
    }
  };
  // Silent from 24 s (stale at 29 s, seen by the look at 30 s), back from 30 s to 60 s, then gone.
  await fresh(25_000);
  await r.clock.advance(5000);
  t.match(r.app.pluginErrors.at(-1), /answers but sends no values/, 'stale at 30 s');
  await fresh(61_000);
  t.equal(r.plugin.current?.mode, 'client');
  r.probe.up = false;
  const switchedAt = await whenLogged(r, 'halpid is gone');
  // Stale again at 65 s, first seen by the look at 90 s: the grace ends at 150 s (not at 90 s,
  // counted from the first loss; not at 180 s, a look late).
  t.equal(switchedAt, 90_000 + CLIENT_GRACE_MS, 'the controller taken over when the grace ends');
  await until(() => r.plugin.current?.mode === 'engine', 'the engine');
  const first = r.dev.sim;
  await r.clock.advanceUntil(() => first.watchdogActiveMs === 60_000, 5000);

  // halpid comes back, takes the controller over, and is gone again before sending anything.
  r.probe.up = true;
  const handbackAt = await whenLogged(r, `halpid appeared at ${r.socketPath}; handing the controller over to it`);
  r.probe.up = false;
  await until(() => r.plugin.current?.mode === 'client', 'the client again');
  t.equal(first.watchdogActiveMs, 60_000, 'its watchdog left armed for halpid');
  const againAt = await whenLogged(r, 'halpid is gone', 2);
  t.ok(againAt - handbackAt > CLIENT_GRACE_MS, `a new grace (${(againAt - handbackAt) / 1000} s after the handback)`);
  await until(() => r.plugin.current?.mode === 'engine', 'the engine again');
  t.equal(r.dev.opens, 2);
});

t.test('stopped during the fallback from a vanished halpid: the controller not opened, or closed again', async (t) => {
  // Stopped while halpid is being asked at the grace's end.
  const a = rig(t, { halpid: true, device: true });
  a.plugin.start(a.config('auto'));
  await until(() => a.plugin.current?.mode === 'client', 'the client');
  a.probe.up = false;
  const heldProbe = gate();
  a.probe.gate = heldProbe.promise;
  while (a.probe.calls < 2) {
    if (a.clock.now() > 5 * REPROBE_MS) throw new Error('no probe at the end of the grace');
    await a.clock.advance(1000);
  }
  const stopA = a.plugin.stop();
  heldProbe.open();
  await stopA;
  t.equal(a.clock.pending, 0, 'no timer left: nothing looks again');
  await a.clock.advance(2 * REPROBE_MS);
  t.equal(a.dev.opens, 0, 'the controller not opened after the stop');
  t.same(a.debug, []);

  // Stopped while the controller is being opened.
  const b = rig(t, { halpid: true, device: true });
  b.plugin.start(b.config('auto'));
  await until(() => b.plugin.current?.mode === 'client', 'the client');
  b.probe.up = false;
  const heldOpen = gate();
  b.dev.gate = heldOpen.promise;
  b.dev.failClose = true;
  while (b.dev.opens < 1) {
    if (b.clock.now() > 5 * REPROBE_MS) throw new Error('no open at the end of the grace');
    await b.clock.advance(1000);
  }
  const stopB = b.plugin.stop();
  heldOpen.open();
  await stopB;
  t.equal(b.clock.pending, 0, 'no timer left');
  await b.clock.advance(2 * REPROBE_MS);
  t.equal(b.dev.closes, 1, 'the bus closed again (its failure no error to show)');
  t.equal(b.dev.sim.watchdogActiveMs, 0, 'the controller left alone');
  t.same(b.debug, []);
  t.notOk(b.app.pluginErrors.some((e) => /EBADF/.test(e)));
  t.equal(b.plugin.current, null);
});

t.test('stopped while halpid appears: the watchdog disarmed, no client started afterwards', async (t) => {
  // Stopped while the probe that finds halpid is under way: the stop wins, the watchdog is disarmed.
  const a = rig(t, { device: true });
  a.plugin.start(a.config('auto'));
  await until(() => a.plugin.current?.mode === 'engine', 'the engine');
  await a.clock.advanceUntil(() => a.dev.sim.watchdogActiveMs === 60_000, 5000);
  const held = gate();
  a.probe.gate = held.promise;
  a.probe.up = true;
  while (a.probe.calls < 2) await a.clock.advance(1000);
  const stopA = a.plugin.stop();
  held.open();
  await a.clock.advance(1000);
  await stopA;
  t.equal(a.dev.sim.watchdogActiveMs, 0, 'disarmed: a stop is no handover');
  t.same(
    a.debug.filter((m) => m.startsWith('halpid appeared')),
    [],
  );

  // Stopped while the controller is being handed over: no connection to halpid follows.
  const b = rig(t, { device: true });
  const h = await streamingHalpid(t, b.socketPath);
  let stopB: Promise<void> | null = null;
  const debug = b.app.debug;
  b.app.debug = (...args) => {
    debug(...args);
    if (String(args[0]).startsWith('halpid appeared')) stopB = b.plugin.stop();
  };
  b.plugin.start(b.config('auto'));
  await until(() => b.plugin.current?.mode === 'engine', 'the engine');
  b.probe.up = true;
  while (!stopB) await b.clock.advance(1000);
  await b.clock.advance(1000);
  await stopB;
  await b.clock.advance(2 * REPROBE_MS);
  t.equal(h.streams, 0, 'halpid never connected to');
  t.equal(b.plugin.current, null);
  t.notOk(
    b.app.statuses.some((s) => s.startsWith('Connected to halpid')),
    'no client status',
  );
});

t.test('stopped while halpid is found gone: the controller not driven, its bus closed', async (t) => {
  const r = rig(t, { halpid: true, device: true });
  let stopping: Promise<void> | null = null;
  let reads = -1;
  const debug = r.app.debug;
  r.app.debug = (...args) => {
    debug(...args);
    if (String(args[0]).startsWith('halpid is gone')) {
      reads = r.dev.sim.log.length;
      stopping = r.plugin.stop();
    }
  };
  r.plugin.start(r.config('auto'));
  await until(() => r.plugin.current?.mode === 'client', 'the client');
  r.probe.up = false;
  while (!stopping) {
    if (r.clock.now() > 5 * REPROBE_MS) throw new Error('halpid never found gone');
    await r.clock.advance(1000);
  }
  await r.clock.advance(1000);
  await stopping;
  await r.clock.advance(REPROBE_MS);
  t.ok(reads > 0, 'the probe read the controller');
  t.equal(r.dev.sim.log.length, reads, 'nothing on the bus after the stop');
  t.equal(r.dev.closes, 1, 'the bus closed');
  t.equal(r.plugin.current, null);
});

t.test('auto with nothing found: the routes answer (history served, no simulator)', async (t) => {
  const r = rig(t);
  const get = await mount(t, (router) => r.plugin.registerWithRouter(router as never));
  r.plugin.start(r.config('auto'));
  await until(() => r.app.pluginErrors.length > 0, 'the error');
  t.same(await get('/plugins/signalk-halpi2/sim'), { status: 404, body: { error: 'Not in simulator mode' } });
  t.equal((await get('/plugins/signalk-halpi2/history')).status, 200, 'the history while running');
});

t.test(
  "client mode: halpid's values and blackouts go into the plugin's history; a stop ends the blackout",
  async (t) => {
    const r = rig(t, { halpid: true });
    const h = await streamingHalpid(t, r.socketPath);
    const get = await mount(t, (router) => r.plugin.registerWithRouter(router as never));
    r.plugin.start(r.config('auto'));
    await until(() => h.streams === 1, 'the event stream');
    const inBlackout = r.app.next(`${P}.daemonState`, (s) => s === 'BLACKOUT');
    h.send('values', { V_in: 12.25, V_cap: 10.1, I_in: 0.5, T_mcu: 310, T_pcb: 305, daemon_version: '5.1.0' });
    await r.app.next(`${P}.dcInputVoltage`, (x) => x === 12.25);
    await r.clock.advance(1000);
    h.send('blackout', { V_in: 0, phase: 'start', time_limit: 60, voltage_limit: 9 });
    h.send('state', { controller_state: 'BlackoutCoOp', daemon_state: 'BLACKOUT' });
    await inBlackout; // the events are read in order: the blackout's start is noted
    await r.clock.advance(1000);
    const during = await get('/plugins/signalk-halpi2/history');
    t.equal(during.status, 200);
    t.ok(during.body.buckets.V_in.includes(12.25), "halpid's V_in in the history");
    t.match(during.body.blackouts, [{ outcome: 'ongoing' }]);
    await r.stop();
    t.equal((await get('/plugins/signalk-halpi2/history')).status, 503, 'not served while stopped');
    r.plugin.start(r.config('auto'));
    await until(() => h.streams === 2, 'the event stream again');
    const after = await get('/plugins/signalk-halpi2/history');
    t.match(after.body.blackouts, [{ outcome: 'stopped' }], 'the blackout ended by the stop');
  },
);

t.test('simulator mode: a blackout is in the history once', async (t) => {
  const clock = new FakeClock();
  let sim: SimulatedController | undefined;
  const app = fakeApp();
  const plugin = createPlugin(app, {
    clock,
    simulator: () => (sim = new SimulatedController({ clock, start: 'host-running', hostGated: true })),
  });
  const get = await mount(t, (router) => plugin.registerWithRouter(router as never));
  plugin.start({ mode: 'simulator', engine: { poweroffCommand: 'true', blackoutTimeLimit: 60 } });
  t.teardown(async () => {
    const done = plugin.stop();
    await clock.advance(1000);
    await done;
  });
  await clock.advance(5000);
  sim!.setPower(false);
  await clock.advance(3000);
  sim!.setPower(true);
  await clock.advance(3000);
  const r = await get('/plugins/signalk-halpi2/history');
  t.match(r.body.blackouts, [{ outcome: 'power_returned' }]);
  t.equal(r.body.blackouts.length, 1);
});

t.test("the plugin's own values in the data tree are no reason to warn", async (t) => {
  const r = rig(t);
  r.app.getSelfPath = (path) =>
    path === `${P}.dcInputVoltage` ? { value: 12.1, $source: 'signalk-halpi2.XX' } : undefined;
  r.plugin.start(r.config('simulator'));
  t.same(r.app.errors, []);
});

t.test('every PUT allowed: no metadata refusing one is sent', async (t) => {
  const r = rig(t);
  r.plugin.start(r.config('simulator', { control: { usb: true, config: true, power: true } }));
  const metas = r.app.deltas.flatMap((d) => d.updates.flatMap((u) => (u.meta ? [u.meta] : [])));
  t.notOk(
    metas.some((m) => m.length === 0),
    'no empty metadata delta',
  );
  t.notOk(
    metas.some((m) => m.some((x) => (x.value as { supportsPut?: boolean }).supportsPut === false)),
    'no path refused',
  );
  t.ok(r.app.puts.has(`${P}.commands.shutdown`), 'shutdown takes PUT');
});

t.test('a stop on a hung bus ends after 5 s: the server is never kept waiting', async (t) => {
  const r = rig(t, { device: true });
  r.plugin.start(r.config('engine'));
  await until(() => r.plugin.current !== null, 'the engine');
  await r.clock.advanceUntil(() => r.dev.sim.watchdogActiveMs === 60_000, 5000);
  r.dev.hang = true;
  let stopped = false;
  const done = r.plugin.stop().then(() => {
    stopped = true;
  });
  await r.clock.advance(4900);
  t.notOk(stopped, 'still waiting for the bus at 4.9 s');
  await r.clock.advance(100);
  t.ok(stopped, 'given up at 5 s');
  await done;
  t.equal(r.plugin.current, null);
  t.equal(r.clock.pending, 0, 'no timer left');
});

t.test('a controller that stops answering is said in the server log', async (t) => {
  const r = rig(t, { device: true });
  r.plugin.start(r.config('engine'));
  await until(() => r.plugin.current !== null, 'the engine');
  await r.clock.advanceUntil(() => r.dev.sim.watchdogActiveMs === 60_000, 5000);
  t.same(r.app.errors, []);
  r.dev.sim.faults.add({ kind: 'nack', count: 0 });
  const silent = () => r.app.errors.find((e) => e.startsWith('Controller not answering'));
  await r.clock.advanceUntil(() => silent() !== undefined, 30_000);
  t.match(
    silent(),
    /^Controller not answering for \d+\.\ds \(.*\): its watchdog will power-cycle this computer in about \d+s unless it answers again$/,
  );
});

t.test('signalk-halpi enabled beside it: the status says which plugin to disable, and where', async (t) => {
  const r = rig(t);
  r.app.pluginEnabled = (id) => id === 'signalk-halpi';
  r.plugin.start(r.config('simulator'));
  t.equal(
    r.app.statuses[0],
    'Starting…. The signalk-halpi plugin is enabled too and publishes the same paths, so each value flips between two sources: ' +
      'disable signalk-halpi under Server → Plugin Config (this plugin replaces it; the settings socketPath, pollInterval and pathPrefix carry over)',
  );
});

t.test('auto: a restart of the plugin gives a halpid that is away the whole grace again', async (t) => {
  const r = rig(t, { halpid: true, device: true });
  r.plugin.start(r.config('auto'));
  await until(() => r.plugin.current?.mode === 'client', 'the client');
  // No server on the socket: stale at 5 s, seen away by the look at 30 s. Settings saved at 40 s.
  await r.clock.advance(40_000);
  await r.stop();
  r.plugin.start(r.config('auto'));
  const restartAt = r.clock.now();
  await until(() => r.plugin.current?.mode === 'client', 'the client again');
  r.probe.up = false;
  const switchedAt = await whenLogged(r, 'halpid is gone');
  t.ok(switchedAt - restartAt > CLIENT_GRACE_MS, `${(switchedAt - restartAt) / 1000} s after the restart`);
});
