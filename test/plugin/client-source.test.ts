// Client mode against fake halpids on a Unix socket (plugin/client-source.ts): both dialects
// without /events, the event stream, failures that make the data stale, and the write results.
import t from 'tap';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { FakeClock } from '../../engine/clock.js';
import { ClientSource } from '../../plugin/client-source.js';
import type { Model, SupplyModel } from '../../plugin/paths.js';
import { ActionError, type BlackoutNote, type ControllerNote, type SourceSink } from '../../plugin/source.js';
import { tempDir } from '../helpers/tmp.js';

type Route = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function fakeHalpid(t: { teardown(fn: () => unknown): void }, routes: Record<string, Route>) {
  const path = join(tempDir('halpi2-client-'), 'h.sock');
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const key = `${req.method} ${(req.url ?? '').split('?')[0]}`;
      seen.push(key);
      const route = routes[key];
      if (route) route(req, res, body);
      else {
        res.writeHead(404);
        res.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, () => r()));
  const close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  t.teardown(close);
  return { path, seen, close };
}

const json =
  (status: number, body: unknown): Route =>
  (_req, res) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };

function recorder() {
  const events: Array<{ kind: string; value: unknown }> = [];
  let wake: () => void = () => {};
  const sink: SourceSink = {
    snapshot: (v: Model) => {
      events.push({ kind: 'snapshot', value: v });
      wake();
    },
    change: (v: Model) => {
      events.push({ kind: 'change', value: v });
      wake();
    },
    blackout: (n: BlackoutNote) => {
      events.push({ kind: 'blackout', value: n });
      wake();
    },
    poweroffFailed: (r: string) => {
      events.push({ kind: 'poweroffFailed', value: r });
      wake();
    },
    failure: (r: string) => {
      events.push({ kind: 'failure', value: r });
      wake();
    },
    controller: (n: ControllerNote) => {
      events.push({ kind: 'controller', value: n });
      wake();
    },
    supply: (s: SupplyModel) => {
      events.push({ kind: 'supply', value: s });
      wake();
    },
  };
  /** Resolves when an event of `kind` has been recorded (now or later). */
  const until = async (kind: string, n = 1) => {
    while (events.filter((e) => e.kind === kind).length < n)
      await new Promise<void>((r) => {
        wake = r;
      });
    return events.filter((e) => e.kind === kind)[n - 1]!.value;
  };
  return { sink, events, until };
}

const V4 = {
  V_in: 12.2,
  V_supercap: 10.1,
  I_in: 0.35,
  T_mcu: 307.9,
  T_pcb: 303.6,
  state: 'OperationalCoOp',
  '5v_output_enabled': true,
  usb_port_state: 5,
  watchdog_enabled: true,
  watchdog_timeout: 10.0,
  watchdog_elapsed: 0.0,
  hardware_version: 'N/A',
  firmware_version: '3.3.1',
  daemon_version: '4.0.7',
  device_id: 'e66164840bce7521',
};
const CONFIG = {
  watchdog_timeout: 10,
  power_on_threshold: 8,
  solo_power_off_threshold: 5.5,
  led_brightness: 40,
  auto_restart: true,
  solo_depleting_timeout: 10,
};

t.test('halpid 4.0.7 (no /events): V_supercap and usb_port_state, /usb never asked', async (t) => {
  const h = await fakeHalpid(t, { 'GET /values': json(200, V4), 'GET /config': json(200, CONFIG) });
  const clock = new FakeClock();
  const src = new ClientSource(h.path, 1000, { clock });
  const r = recorder();
  src.start(r.sink);
  t.teardown(() => src.stop());
  await clock.advance(0);
  const snap = (await r.until('snapshot')) as Model;
  t.equal(snap.V_cap, 10.1, 'V_supercap read as the supercap voltage');
  t.same(snap.usb, { usb0: true, usb1: false, usb2: true, usb3: false }, 'usb_port_state 5 = ports 0 and 2');
  t.same(snap.config, CONFIG);
  t.equal(src.statusText(), `Connected to halpid 4.0.7 at ${h.path}`);
  t.ok(h.seen.includes('GET /events'), 'the stream was tried once');
  // The next poll after the interval; the stream is not tried again, and /usb is not asked.
  const asked = h.seen.length;
  await clock.advance(1000);
  await r.until('snapshot', 2);
  t.same(h.seen.slice(asked), ['GET /values'], 'only /values');
  t.equal(h.seen.filter((s) => s === 'GET /events').length, 1);
});

t.test('halpid 5.0.2 (no /events): /values and /usb', async (t) => {
  const { V_supercap, usb_port_state, ...rest } = V4;
  const v5 = { ...rest, V_cap: V_supercap, daemon_version: '5.0.2' };
  const h = await fakeHalpid(t, {
    'GET /values': json(200, v5),
    'GET /usb': json(200, { usb0: false, usb1: true, usb2: true, usb3: true }),
    'GET /config': json(200, CONFIG),
  });
  const clock = new FakeClock();
  const src = new ClientSource(h.path, 1000, { clock });
  const r = recorder();
  src.start(r.sink);
  t.teardown(() => src.stop());
  await clock.advance(0);
  const snap = (await r.until('snapshot')) as Model;
  t.equal(snap.V_cap, 10.1);
  t.same(snap.usb, { usb0: false, usb1: true, usb2: true, usb3: true });
  t.equal(src.connectedText(), 'Connected to halpid 5.0.2');
});

t.test('failures: an error answer, bad JSON, a halpid that is gone', async (t) => {
  let mode: 'error' | 'garbage' = 'error';
  const h = await fakeHalpid(t, {
    'GET /values': (req, res, body) =>
      mode === 'error'
        ? json(500, { error: 'Failed to read from register 0x20' })(req, res, body)
        : json(200, 'not json')(req, res, body),
  });
  const clock = new FakeClock();
  const src = new ClientSource(h.path, 1000, { clock });
  const r = recorder();
  src.start(r.sink);
  t.teardown(() => src.stop());
  await clock.advance(0);
  t.equal(
    await r.until('failure', 1),
    'GET /values answered 500: Failed to read from register 0x20',
    "the daemon's message",
  );
  t.equal(
    src.staleText('x'),
    `halpid at ${h.path} answers but has no values: GET /values answered 500: Failed to read from register 0x20`,
    'halpid answering 500 is not an unreachable halpid',
  );
  mode = 'garbage';
  await clock.advance(1000);
  t.equal(await r.until('failure', 2), 'GET /values: not a JSON object');
  await h.close();
  await clock.advance(1000);
  t.match(await r.until('failure', 3), /^no socket there \(is halpid running\?\)$|^connection refused/);
  t.equal(src.staleText('x'), `halpid not reachable at ${h.path}: x`);
  t.equal(r.events.filter((e) => e.kind === 'snapshot').length, 0, 'never a snapshot');
});

t.test('the event stream: hello, values, usb, state, blackout and config drive the sink', async (t) => {
  let stream: ServerResponse | null = null;
  let opened: () => void = () => {};
  const streamOpen = new Promise<void>((r) => {
    opened = r;
  });
  const h = await fakeHalpid(t, {
    'GET /events': (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.flushHeaders();
      stream = res;
      opened();
    },
    'GET /config': json(200, CONFIG),
    'GET /values': json(500, { error: 'polled although the stream is open' }),
  });
  const clock = new FakeClock();
  const src = new ClientSource(h.path, 500, { clock });
  const r = recorder();
  src.start(r.sink);
  t.teardown(() => src.stop());
  await streamOpen;
  t.ok(h.seen.includes('GET /events'));
  const send = (event: string, data: unknown) =>
    stream!.write(`id: 1\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  send('hello', { api: '5', backend: 'simulator', daemon_state: 'OK', daemon_version: '5.1.0' });
  t.same(await r.until('change'), { daemon_state: 'OK' });
  const { V_supercap, usb_port_state, ...rest } = V4;
  send('values', { ...rest, V_cap: V_supercap, daemon_version: '5.1.0' });
  t.equal(((await r.until('snapshot')) as Model).V_cap, 10.1);
  send('blackout', { V_in: 0, phase: 'start', time_limit: 5, voltage_limit: 9 });
  t.same(await r.until('blackout'), { phase: 'start', time_limit: 5 });
  send('state', { controller_state: 'BlackoutCoOp', daemon_state: 'BLACKOUT' });
  await clock.advance(0);
  const changes = () => r.events.filter((e) => e.kind === 'change').map((e) => e.value);
  while (!changes().some((c) => (c as Model).daemon_state === 'BLACKOUT'))
    await r.until('change', changes().length + 1);
  t.ok(
    changes().some((c) => JSON.stringify(c) === JSON.stringify({ daemon_state: 'BLACKOUT', state: 'BlackoutCoOp' })),
  );
  send('blackout', { duration: 2.3, phase: 'end' });
  t.same(await r.until('blackout', 2), { phase: 'end' });
  send('usb', { usb0: true, usb1: true, usb2: false, usb3: false });
  while (!changes().some((c) => (c as Model).usb)) await r.until('change', changes().length + 1);
  send('controller', {
    reachable: false,
    last_answer: 1,
    power_cycle_at: 15_001,
    silence_s: 1.0,
    error: 'Remote I/O error',
  });
  t.same(
    await r.until('controller'),
    { reachable: false, powerCycleAt: 15_001, error: 'Remote I/O error' },
    'a silent controller',
  );
  send('controller', { reachable: true, last_answer: 5000, power_cycle_at: null, silence_s: 4.0 });
  t.same(await r.until('controller', 2), { reachable: true, powerCycleAt: null }, 'and its return');
  await clock.advance(2000);
  t.notOk(h.seen.includes('GET /values'), 'no polling while the stream is open');
  t.equal(src.statusText(), `Connected to halpid 5.1.0 at ${h.path}`);
});

t.test('values and the supply behind them: one snapshot carrying both; a supply alone is its own', async (t) => {
  let stream: ServerResponse | null = null;
  let opened: () => void = () => {};
  const streamOpen = new Promise<void>((r) => {
    opened = r;
  });
  const h = await fakeHalpid(t, {
    'GET /events': (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.flushHeaders();
      stream = res;
      opened();
    },
    'GET /config': json(200, CONFIG),
  });
  const src = new ClientSource(h.path, 1000, { clock: new FakeClock() });
  const r = recorder();
  src.start(r.sink);
  t.teardown(() => src.stop());
  await streamOpen;
  const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
  const supply = { charge: 87.4, runtime: 5, shutdown_in: null, shutting_down: false, power: null, current: null };
  const { V_supercap, usb_port_state, ...rest } = V4;
  stream!.write(event('values', { ...rest, V_cap: V_supercap }) + event('supply', supply));
  const snap = (await r.until('snapshot')) as Model;
  t.equal(snap.V_cap, 10.1);
  t.same(snap.supply, supply, 'the supply rides with the values');
  t.equal(r.events.filter((e) => e.kind === 'supply').length, 0, 'not told apart');
  stream!.write(event('supply', { ...supply, charge: 87.3 }));
  t.same(await r.until('supply'), { ...supply, charge: 87.3 }, 'a supply without values before it');
  stream!.write(event('values', { ...rest, V_cap: 10.0 }));
  t.equal(((await r.until('snapshot', 2)) as Model).V_cap, 10.0, 'values without a supply behind them still arrive');
  t.equal(((await r.until('snapshot', 2)) as Model).supply, undefined);
});

t.test("writes: success, the daemon's error as 502, no daemon as 503, no answer as 504", async (t) => {
  const h = await fakeHalpid(t, {
    'PUT /usb/2': (_req, res, body) => {
      res.writeHead(body === 'false' ? 204 : 500, { 'Content-Type': 'application/json' });
      res.end(body === 'false' ? undefined : '{"error":"Failed to set USB port 2: Failed to write to register 0x1A"}');
    },
    'PUT /config/led_brightness': (_req, res, body) => {
      res.writeHead(body === '128' ? 204 : 400);
      res.end();
    }, // dialect 4 answers 204
    'POST /shutdown': () => {}, // never answers
  });
  const src = new ClientSource(h.path, 1000, { clock: new FakeClock(), requestTimeoutMs: 200 });
  await src.setUsb(2, false);
  await t.rejects(
    src.setUsb(2, true),
    new ActionError(502, 'Failed to set USB port 2: Failed to write to register 0x1A'),
  );
  await src.setConfig('led_brightness', 128);
  await t.rejects(src.shutdown(), new ActionError(504, 'No answer from halpid within 0.2 s'));
  await h.close();
  const err = await src.setUsb(0, true).catch((e: ActionError) => e);
  t.equal((err as ActionError).statusCode, 503);
  t.match((err as ActionError).message, `halpid not reachable at ${h.path}: `);
});
