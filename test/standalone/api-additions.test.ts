// /events, /metrics and /sim (docs/api.md) over the real socket. Each test runs its own daemon,
// so none depends on what another left behind.
import t from 'tap';
import { dischargeMeasured, stream } from '../helpers/events-stream.js';
import { mkdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { VERSION } from '../../engine/version.js';
import { json, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { tempDir } from '../helpers/tmp.js';

async function daemon(t: { teardown: (fn: () => unknown) => void }, args: string[] = []): Promise<RunningDaemon> {
  const d = await startDaemon(args);
  t.teardown(() => d.stop());
  // With a long limit, no load on the simulated supercap either: its own runtime (which can bring
  // the shutdown forward) stays far above the limit.
  if (args.includes('--blackout-time-limit')) await d.req('PUT', '/sim/host', json({ load_W: 0 }));
  return d;
}

// A blackout limit no test can reach: a slow machine may take seconds between the cut and the
// power's return, and must not see a shutdown the test did not ask for.
const LONG_LIMIT = ['--blackout-time-limit', '600'];

t.test('/events: hello, usb, values at the interval, state, blackout, config, flash', async (t) => {
  const d = await daemon(t, LONG_LIMIT);
  const s = stream(d, '/events?interval=200');
  t.teardown(() => s.close());
  await s.wait(() => s.events.length >= 2);
  t.equal(s.status, 200);
  const supplyKeys = ['charge', 'current', 'power', 'runtime', 'shutdown_in', 'shutting_down'];
  t.equal(s.headers['content-type'], 'text/event-stream');
  t.equal(s.headers['cache-control'], 'no-cache');
  t.same(s.events[0], {
    id: 1,
    event: 'hello',
    data: {
      api: '5',
      backend: 'simulator',
      daemon_state: 'OK',
      daemon_version: VERSION,
      blackout_time_limit: 600,
      blackout_voltage_limit: 9,
    },
  });
  // The supercap at once (a panel opened now can show its charge), then the ports.
  t.match(s.events[1], {
    id: 2,
    event: 'supply',
    data: { runtime: 600, shutdown_in: null, shutting_down: false, power: null, current: null },
  });
  await s.wait(() => s.events.length >= 3);
  t.same(s.events[2], { id: 3, event: 'usb', data: { usb0: true, usb1: true, usb2: true, usb3: true } });
  await s.wait(() => s.events.filter((e) => e.event === 'values').length >= 3);
  const values = s.events.find((e) => e.event === 'values')!.data as Record<string, unknown>;
  t.same(Object.keys(values), [
    '5v_output_enabled',
    'I_in',
    'T_mcu',
    'T_pcb',
    'V_cap',
    'V_in',
    'daemon_version',
    'device_id',
    'firmware_version',
    'hardware_version',
    'state',
    'watchdog_elapsed',
    'watchdog_enabled',
    'watchdog_timeout',
  ]);
  t.match(values, { state: 'OperationalCoOp', firmware_version: '3.3.1', watchdog_enabled: true });
  // Every values event is followed by the supply event computed from the same poll.
  const afterValues = s.events.filter((e, i) => s.events[i - 1]?.event === 'values').map((e) => e.event);
  t.ok(afterValues.length >= 2 && afterValues.every((e) => e === 'supply'), 'supply after each values');
  const supply = s.events.filter((e) => e.event === 'supply').at(-1)!.data as Record<string, unknown>;
  t.same(Object.keys(supply), supplyKeys);
  t.ok((supply.charge as number) > 90 && (supply.charge as number) <= 100, `charge ${supply.charge} %`);
  t.same(
    s.events.map((e) => e.id),
    s.events.map((_, i) => i + 1),
    'ids count from 1',
  );

  await d.req('PUT', '/usb/3', json(false));
  await s.wait(() => s.events.some((e) => e.event === 'usb' && (e.data as { usb3: boolean }).usb3 === false));
  await d.req('PUT', '/config/led_brightness', json(60));
  await s.wait(() => s.events.some((e) => e.event === 'config'));
  t.match(s.events.find((e) => e.event === 'config')!.data, { led_brightness: 60, watchdog_timeout: 10 });
  await d.req('PUT', '/config/led_brightness', json(48));
  await d.req('PUT', '/usb/3', json(true));

  const cutAt = Date.now();
  await d.req('POST', '/sim/power', json({ on: false }));
  await s.wait(() => s.events.some((e) => e.event === 'blackout'));
  t.match(s.events.find((e) => e.event === 'blackout')!.data, {
    phase: 'start',
    V_in: 0,
    time_limit: 600,
    voltage_limit: 9,
  });
  await s.wait(() =>
    s.events.some(
      (e) => e.event === 'state' && (e.data as { controller_state: string }).controller_state === 'BlackoutCoOp',
    ),
  );
  t.ok(s.events.some((e) => e.event === 'state' && (e.data as { daemon_state: string }).daemon_state === 'BLACKOUT'));
  // Until then shutdown_in is reckoned for an assumed load, not the limit (events-stream.ts).
  await dischargeMeasured(s);
  // A stream opened during the blackout learns how long it has lasted, for a countdown at once.
  const late = stream(d, '/events?interval=200');
  await late.wait(() => late.events.length >= 2);
  late.close();
  const hello = late.events[0]!.data as { daemon_state: string; blackout_elapsed: number; blackout_time_limit: number };
  t.equal(hello.daemon_state, 'BLACKOUT');
  // Both times lie inside what the test itself saw since the cut (a bracket, not a window).
  const sinceCut = (Date.now() - cutAt) / 1000;
  t.ok(
    hello.blackout_elapsed >= 0 && hello.blackout_elapsed <= sinceCut,
    `blackout_elapsed ${hello.blackout_elapsed} s, ${sinceCut} s after the cut`,
  );
  // ...and the seconds to the shutdown, in the supply event that follows the hello.
  const lateSupply = late.events.find((e) => e.event === 'supply')?.data as { shutdown_in: number } | undefined;
  t.ok(
    lateSupply && lateSupply.shutdown_in <= 600 && lateSupply.shutdown_in >= 600 - sinceCut - 1,
    `shutdown_in ${lateSupply?.shutdown_in} s`,
  );
  await d.req('POST', '/sim/power', json({ on: true }));
  await s.wait(() => s.events.some((e) => e.event === 'blackout' && (e.data as { phase: string }).phase === 'end'));
  const end = s.events.find((e) => e.event === 'blackout' && (e.data as { phase: string }).phase === 'end')!.data as {
    duration: number;
  };
  const cutToEnd = (Date.now() - cutAt) / 1000;
  t.ok(
    end.duration > 0 && end.duration <= cutToEnd,
    `duration ${end.duration} s, ${cutToEnd} s from the cut to the end event`,
  );
  const raw = await new Promise<string>((resolve) => {
    let text = '';
    const req = httpRequest({ socketPath: d.socket, path: '/events', agent: false }, (res) => {
      res.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('event: usb')) {
          req.destroy();
          resolve(text);
        }
      });
    });
    req.end();
  });
  t.match(
    raw,
    /^id: 1\nevent: hello\ndata: \{"api":"5","backend":"simulator","blackout_time_limit":600\.0,"blackout_voltage_limit":9\.0,"daemon_state":"OK","daemon_version":"[^"]+"\}\n\n/,
    'wire format',
  );
});

t.test('/events: interval validation, HEAD, and at most 16 streams', async (t) => {
  const d = await daemon(t);
  for (const q of ['?interval=99', '?interval=60001', '?interval=abc', '?interval=1.5', '?interval=']) {
    const r = await d.req('GET', `/events${q}`);
    t.equal(`${r.status} ${r.text}`, '400 {"error":"Invalid interval: must be an integer between 100 and 60000"}', q);
  }
  const head = await d.req('HEAD', '/events');
  t.equal(head.status, 200);
  t.equal(head.headers['content-type'], 'text/event-stream');
  const streams = Array.from({ length: 16 }, () => stream(d));
  await Promise.all(streams.map((s) => s.wait(() => s.events.length >= 1)));
  const over = await d.req('GET', '/events');
  t.equal(`${over.status} ${over.text}`, '503 {"error":"Too many event stream clients"}');
  streams[0]!.close();
  // The daemon frees the place when it sees the close: retry until it has.
  let again = stream(d);
  await again.wait(() => again.status !== 0);
  while (again.status === 503) {
    again.close();
    again = stream(d);
    await again.wait(() => again.status !== 0);
  }
  await again.wait(() => again.events.length >= 1);
  t.equal(again.status, 200, 'a closed stream frees its place');
  again.close();
  for (const s of streams) s.close();
});

t.test('event streams add no bus traffic per client', async (t) => {
  const d = await daemon(t);
  const count = async () => {
    const m = (await d.req('GET', '/metrics')).text;
    return [...m.matchAll(/^halpi_i2c_transactions_total\{op="(read|write)"\} (\d+)$/gm)].reduce(
      (a, x) => a + Number(x[2]),
      0,
    );
  };
  const values = (s: ReturnType<typeof stream>) => s.events.filter((e) => e.event === 'values').length;
  // Transactions per `values` event of one stream, measured over ten events (about a second).
  const perEvent = async (s: ReturnType<typeof stream>) => {
    const start = values(s);
    const before = await count();
    await s.wait(() => values(s) >= start + 10, 10_000);
    return ((await count()) - before) / 10;
  };
  const one = stream(d, '/events?interval=100');
  await one.wait(() => values(one) >= 2);
  const oneRate = await perEvent(one);
  const many = Array.from({ length: 10 }, () => stream(d, '/events?interval=100'));
  await Promise.all(many.map((s) => s.wait(() => values(s) >= 2)));
  const manyRate = await perEvent(one);
  for (const s of [one, ...many]) s.close();
  // Each /metrics request adds nothing on the bus; the polls are shared by every stream.
  t.ok(manyRate <= oneRate * 1.3 + 1, `per values event: ${manyRate} transactions with 11 streams, ${oneRate} with 1`);
  t.ok(oneRate >= 1, 'and the measurement polls do happen');
});

t.test('/metrics: Prometheus text with every metric of docs/api.md', async (t) => {
  const d = await daemon(t, LONG_LIMIT);
  // What the metrics below count: one blackout, five rejected /events requests, a USB write.
  await d.req('POST', '/sim/power', json({ on: false }));
  await d.waitLog(/Detected blackout/);
  await d.req('POST', '/sim/power', json({ on: true }));
  await d.waitLog(/Power resumed/);
  for (let i = 0; i < 5; i++) await d.req('GET', '/events?interval=1');
  await d.req('PUT', '/usb/3', json(true));
  // /metrics never touches the bus: what it reports comes from the last reads (here, /values).
  await d.req('GET', '/values');
  const r = await d.req('GET', '/metrics');
  t.equal(r.status, 200);
  t.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  for (const name of [
    'halpi_input_voltage_volts',
    'halpi_supercap_voltage_volts',
    'halpi_input_current_amperes',
    'halpi_mcu_temperature_celsius',
    'halpi_pcb_temperature_celsius',
    'halpi_controller_state',
    'halpi_daemon_state',
    'halpi_5v_output_enabled',
    'halpi_usb_port_enabled',
    'halpi_watchdog_enabled',
    'halpi_watchdog_timeout_seconds',
    'halpi_blackouts_total',
    'halpi_blackout_seconds_total',
    'halpi_last_poll_timestamp_seconds',
    'halpi_poll_errors_total',
    'halpi_i2c_transactions_total',
    'halpi_i2c_errors_total',
    'halpi_i2c_retries_total',
    'halpi_i2c_failures_total',
    'halpi_http_requests_total',
    'halpi_flash_in_progress',
    'halpi_start_time_seconds',
    'halpi_info',
  ]) {
    t.match(r.text, new RegExp(`^# TYPE ${name} (gauge|counter)$`, 'm'), name);
  }
  t.match(r.text, /^halpi_controller_state\{state="OperationalCoOp"\} 1$/m);
  t.match(r.text, /^halpi_controller_state\{state="PowerOff"\} 0$/m);
  t.match(r.text, /^halpi_daemon_state\{state="OK"\} 1$/m);
  t.match(r.text, /^halpi_blackouts_total 1$/m, 'the one blackout');
  t.match(r.text, /^halpi_http_requests_total\{method="GET",route="\/events",status="400"\} 5$/m);
  t.match(r.text, /^halpi_http_requests_total\{method="PUT",route="\/usb\/\{port\}",status="204"\} \d+$/m);
  t.match(
    r.text,
    /^halpi_info\{daemon_version="[^"]+",firmware_version="3\.3\.1",hardware_version="N\/A",device_id="0123456789abcdef",backend="simulator",api="5"\} 1$/m,
  );
  t.match(r.text, /^halpi_input_voltage_volts 11\.99951171875$/m);
  await d.req('GET', '/nope');
  t.match(
    (await d.req('GET', '/metrics')).text,
    /^halpi_http_requests_total\{method="GET",route="unmatched",status="404"\} \d+$/m,
  );
});

t.test('/sim: snapshot, controls, validation, faults', async (t) => {
  const d = await daemon(t);
  const snap = JSON.parse((await d.req('GET', '/sim')).text);
  t.same(Object.keys(snap).sort(), ['controller', 'faults', 'host', 'inputs']);
  t.same(Object.keys(snap.controller).sort(), [
    'auto_restart',
    'device_id',
    'dfu_blocks_written',
    'dfu_status',
    'firmware_version',
    'hardware_version',
    'led_brightness',
    'pending_swap',
    'power_on_threshold',
    'rails_on',
    'solo_depleting_timeout_ms',
    'solo_power_off_threshold',
    'state',
    'usb',
    'watchdog_ms',
  ]);
  t.same(Object.keys(snap.host).sort(), ['boot_delay_s', 'cm_on', 'halt_delay_s', 'load_W', 'rtc_alarm']);
  const bad: Array<[string, string, unknown, string]> = [
    ['PUT', '/sim/inputs', { V_in: 41 }, 'V_in must be a number from 0 to 40'],
    ['PUT', '/sim/inputs', { T_pcb: 'hot' }, 'T_pcb must be a number from 200 to 400'],
    ['POST', '/sim/power', {}, 'on must be a boolean'],
    ['PUT', '/sim/host', { load_W: 31 }, 'load_W must be a number from 0 to 30'],
    ['PUT', '/sim/controller', { device_id: 'xyz' }, 'device_id must be 16 hex digits'],
    ['PUT', '/sim/controller', { firmware_version: [3, 3, 1] }, 'firmware_version must be an array of 4 bytes'],
    ['POST', '/sim/button', { action: 'smash' }, 'action must be one of click, press, release'],
    ['POST', '/sim/faults', { kind: 'explode' }, 'kind must be one of nack, timeout, stretch, corrupt, ignore'],
    ['POST', '/sim/faults', { kind: 'nack', probability: 2 }, 'probability must be a number from 0 to 1'],
  ];
  for (const [method, path, body, message] of bad) {
    const r = await d.req(method, path, json(body));
    t.equal(`${r.status} ${r.text}`, `400 {"error":"${message}"}`, `${method} ${path} ${JSON.stringify(body)}`);
  }
  t.equal((await d.req('PUT', '/sim/inputs', json([1]))).status, 422, 'not an object');
  t.equal((await d.req('PUT', '/sim/inputs', { body: '{}' })).status, 415, 'JSON rules apply');
  t.equal(
    (await d.req('PUT', '/sim/controller', json({ firmware_version: [3, 2, 1, 1], hardware_version: [0, 6, 0, 255] })))
      .status,
    204,
  );
  t.match((await d.req('GET', '/values')).text, /"firmware_version":"3\.2\.1-a1","hardware_version":"0\.6\.0"/);
  await d.req('PUT', '/sim/controller', json({ firmware_version: [3, 3, 1, 255] }));
  const added = await d.req('POST', '/sim/faults', json({ kind: 'nack', registers: [0x04], count: 0 }));
  t.equal(added.status, 201);
  const { id } = JSON.parse(added.text);
  t.match(JSON.parse((await d.req('GET', '/sim/faults')).text), [
    { id, kind: 'nack', op: 'any', registers: [4], count: 0, probability: 1 },
  ]);
  t.match((await d.req('GET', '/values')).text, /"firmware_version":"N\/A"/);
  t.equal((await d.req('DELETE', `/sim/faults/${id}`)).status, 204);
  const gone = await d.req('DELETE', `/sim/faults/${id}`);
  t.equal(`${gone.status} ${gone.text}`, `404 {"error":"Unknown fault id: ${id}"}`);
  t.equal((await d.req('DELETE', '/sim/faults')).status, 204);
  t.equal((await d.req('PUT', '/sim/host', json({ load_W: 7.5 }))).status, 204);
  t.equal(JSON.parse((await d.req('GET', '/sim')).text).host.load_W, 7.5);
  t.equal((await d.req('GET', '/sim/inputs')).status, 405);
  t.equal((await d.req('GET', '/sim/inputs')).headers.allow, 'PUT');
  t.equal((await d.req('GET', '/sim/faults')).status, 200);
  t.equal((await d.req('PUT', '/sim/faults', json({}))).headers.allow, 'GET,HEAD,POST,DELETE');
});

t.test(
  'a settings write the simulator state file cannot take: 400, the value unchanged, the reason in the log',
  async (t) => {
    const dir = tempDir('halpid-state-');
    const file = join(dir, 'state.json');
    mkdirSync(file); // where the file should be: unwritable even for root
    const d = await startDaemon(['--sim-state-file', file]);
    t.teardown(() => d.stop());
    const r = await d.req('PUT', '/config/led_brightness', json(77));
    t.equal(`${r.status} ${r.text}`, '400 {"error":"Failed to write to register 0x17"}');
    t.equal((await d.req('GET', '/config/led_brightness')).text, '48', 'nothing changed');
    await d.waitLog(/Cannot save simulator state file .*state\.json: .*; the setting is unchanged/);
  },
);
