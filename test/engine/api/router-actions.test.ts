// The API's actions in-process (engine/api/router.ts): shutdown, standby, firmware upload, and the
// additions /events, /history, /metrics, /sim; what each does to the engine, and the answer to a
// handler that fails unexpectedly. On the simulated controller with a fake clock: poweroff and
// rtcwake are recorded, never run (helpers/engine.ts).
import t from 'tap';
import { request as httpRequest } from 'node:http';
import { RtcwakeError } from '../../../engine/commands.js';
import type { EventHub } from '../../../engine/api/events.js';
import { HttpCounters } from '../../../engine/api/metrics.js';
import { apiRig, json } from '../../helpers/api.js';
import { firmwareImage } from '../../helpers/firmware.js';

const fault = (r: Awaited<ReturnType<typeof apiRig>>, registers: number[], op = 'write') =>
  r.req('POST', '/sim/faults', json({ kind: 'nack', registers, count: 0, op }));

function multipart(image: Buffer, field = 'firmware', headers: Record<string, string> = {}) {
  const b = 'XyZboundary42';
  const body = Buffer.concat([
    Buffer.from(
      `--${b}\r\nContent-Disposition: form-data; name="${field}"; filename="fw.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    ),
    image,
    Buffer.from(`\r\n--${b}--\r\n`),
  ]);
  return { headers: { 'Content-Type': `multipart/form-data; boundary=${b}`, ...headers }, body };
}

t.test('POST /shutdown: 204, the controller asked, the poweroff command run; a bus failure is a 500', async (t) => {
  const r = await apiRig(t);
  const ok = await r.req('POST', '/shutdown', { body: 'ignored' });
  t.equal(`${ok.status} ${ok.body.length}`, '204 0');
  t.same(
    r.rec.poweroff.map((p) => p.command),
    ['harmless-poweroff'],
    'the poweroff command ran once',
  );
  t.ok(
    r.rec.logs.some((l) => l.message === 'Shutdown requested over the API'),
    'logged',
  );

  const f = await apiRig(t);
  await fault(f, [0x30]);
  const failed = await f.req('POST', '/shutdown');
  t.equal(
    `${failed.status} ${failed.headers['content-type']} ${failed.text}`,
    '500 application/json {"error":"Failed to request shutdown: Failed to write to register 0x30"}',
  );
  t.same(f.rec.poweroff, [], 'no poweroff after a refused request');
});

t.test('POST /standby: rtcwake at the time asked, then the poweroff; refusals and failures', async (t) => {
  const r = await apiRig(t);
  const now = Math.floor(r.clock.wallNow() / 1000);
  const ok = await r.req('POST', '/standby', json({ delay: 60 }));
  t.equal(`${ok.status} ${ok.body.length}`, '204 0');
  t.same(r.rec.rtcwake, [now + 60], 'the wake-up alarm 60 s ahead');
  t.equal(r.rec.poweroff.length, 1, 'then the poweroff command');

  const bad = await apiRig(t);
  const shape = await bad.req('POST', '/standby', json({ when: 60 }));
  t.equal(
    `${shape.status} ${shape.headers['content-type']} ${shape.text}`,
    '422 text/plain; charset=utf-8 Failed to deserialize the JSON body into the target type: data did not match any variant of untagged enum StandbyRequest',
  );
  const far = await bad.req('POST', '/standby', json({ delay: 99_999_999 }));
  t.equal(far.status, 400);
  t.match(JSON.parse(far.text).error, /^Delay must be at most \d+ seconds/);
  const past = await bad.req('POST', '/standby', json({ datetime: '2020-01-01T00:00:00Z' }));
  t.equal(`${past.status} ${past.text}`, '400 {"error":"Wakeup time must be in the future: 2020-01-01T00:00:00Z"}');
  const syntax = await bad.req('POST', '/standby', { headers: { 'Content-Type': 'application/json' }, body: '{' });
  t.equal(syntax.status, 400, 'a body that is no JSON');
  t.equal((await bad.req('POST', '/standby', { body: '{"delay":60}' })).status, 415, 'no JSON content type');
  t.same(bad.rec.rtcwake, [], 'no alarm set by a refused request');
  t.same(bad.rec.poweroff, [], 'no poweroff');

  const rtc = await apiRig(t, {
    rig: {
      engine: {
        actions: {
          poweroff: () => t.fail('no poweroff after a failed rtcwake'),
          rtcwake: async () => {
            throw new RtcwakeError('Failed to set RTC wake alarm: rtcwake exited with 1');
          },
        },
      },
    },
  });
  const e = await rtc.req('POST', '/standby', json({ delay: 60 }));
  t.equal(
    `${e.status} ${e.text}`,
    '500 {"error":"Failed to set RTC wake alarm: rtcwake exited with 1"}',
    "rtcwake's own text, without the prefix",
  );

  const bus = await apiRig(t);
  await fault(bus, [0x31]);
  const b = await bus.req('POST', '/standby', json({ delay: 60 }));
  t.equal(`${b.status} ${b.text}`, '500 {"error":"Failed to request standby: Failed to write to register 0x31"}');
  t.same(bus.rec.poweroff, [], 'no poweroff after the controller refused');
});

t.test('POST /standby in dialect 4 reads the body as halpid 4.0.7 did (int() of a float delay)', async (t) => {
  const r = await apiRig(t, { dialect: 4 });
  const now = Math.floor(r.clock.wallNow() / 1000);
  t.equal((await r.req('POST', '/standby', json({ delay: 60.9 }))).status, 204);
  t.same(r.rec.rtcwake, [now + 60]);
  const r5 = await apiRig(t);
  t.equal((await r5.req('POST', '/standby', json({ delay: 60.9 }))).status, 422, 'dialect 5 takes no float');
  t.same(r5.rec.rtcwake, []);
});

t.test('dry run: shutdown and standby answer 204 and run nothing', async (t) => {
  const r = await apiRig(t, { rig: { settings: { dryRun: true } } });
  t.equal((await r.req('POST', '/shutdown')).status, 204);
  t.equal((await r.req('POST', '/standby', json({ delay: 60 }))).status, 204);
  t.same(r.rec.poweroff, []);
  t.same(r.rec.rtcwake, []);
});

t.test('POST /flash: an image is written through DFU; bad uploads and images refused, failures are 500', async (t) => {
  const r = await apiRig(t);
  const tags: Array<string | undefined> = [];
  r.engine.on('flash', (p) => tags.push(p.upload));
  const image = firmwareImage({ bytes: 8 * 1024 });
  const ok = await r.req('POST', '/flash', multipart(image, 'firmware', { 'X-Halpi-Upload': 'panel-1_A' }));
  t.equal(`${ok.status} ${ok.body.length}`, '204 0');
  t.ok(
    r.rec.logs.some((l) => l.message === 'Firmware update committed; it takes effect after the next full power cycle'),
    'the update ran to its commit',
  );
  t.ok(tags.length > 2, 'progress events');
  t.same([...new Set(tags)], ['panel-1_A'], "every progress event carries the client's tag");

  tags.length = 0;
  await r.req('POST', '/flash', multipart(image, 'firmware', { 'X-Halpi-Upload': 'bad tag!' }));
  t.same([...new Set(tags)], [undefined], 'a tag that is not plain is ignored');
  tags.length = 0;
  await r.req('POST', '/flash', multipart(image, 'firmware', { 'X-Halpi-Upload': '!bad' }));
  t.same([...new Set(tags)], [undefined], 'nor one that starts wrong');
  tags.length = 0;
  await r.req('POST', '/flash', multipart(image, 'firmware', { 'X-Halpi-Upload': 'x'.repeat(65) }));
  t.same([...new Set(tags)], [undefined], 'nor one longer than 64');
  tags.length = 0;
  await r.req('POST', '/flash', multipart(image, 'firmware', { 'X-Halpi-Upload': 'x'.repeat(64) }));
  t.same([...new Set(tags)], ['x'.repeat(64)], '64 characters are fine');

  const noBoundary = await r.req('POST', '/flash', {
    headers: { 'Content-Type': 'application/octet-stream' },
    body: image,
  });
  t.equal(
    `${noBoundary.status} ${noBoundary.headers['content-type']} ${noBoundary.text}`,
    '400 text/plain; charset=utf-8 Invalid `boundary` for `multipart/form-data` request',
  );
  const noField = await r.req('POST', '/flash', multipart(image, 'other'));
  t.equal(noField.status, 400);
  t.equal(noField.headers['content-type'], 'application/json', 'a multipart error is JSON');
  t.match(JSON.parse(noField.text).error, /firmware/i);
  const empty = await r.req('POST', '/flash', multipart(Buffer.alloc(0)));
  t.equal(`${empty.status} ${empty.text}`, '400 {"error":"Firmware file is empty"}', 'not an image: 400');

  const f = await apiRig(t);
  await fault(f, [0x40]);
  const failed = await f.req('POST', '/flash', multipart(image));
  t.equal(failed.status, 500);
  t.match(JSON.parse(failed.text).error, /^Failed to upload firmware: /);
});

t.test('a listener without flash has no /flash route; one without a simulator has no /sim', async (t) => {
  const r = await apiRig(t, { api: { flash: false } });
  const nf = await r.req('POST', '/flash', multipart(firmwareImage()));
  t.equal(`${nf.status} ${nf.body.length}`, '404 0');
  t.equal((await r.req('GET', '/sim')).status, 200, 'the simulator is there');
  t.equal((await r.req('POST', '/sim/power', json({ on: false }))).status, 204);
  t.equal(r.sim.powerConnected, false, 'a /sim route acts on the simulator');

  const real = await apiRig(t, { rig: { engine: { simulator: undefined } } });
  t.equal((await real.req('GET', '/sim')).status, 404, 'no simulator, no /sim');
  t.equal((await real.req('POST', '/sim/power', json({ on: false }))).status, 404);
});

t.test('GET /history: JSON of the buffer; bad queries are 400', async (t) => {
  const r = await apiRig(t);
  const before = r.clock.wallNow();
  const h = await r.req('GET', '/history?step=5');
  t.equal(`${h.status} ${h.headers['content-type']}`, '200 application/json');
  const body = JSON.parse(h.text);
  t.equal(body.step, 5, 'the query is read');
  t.ok(
    body.now * 1000 >= before && body.now * 1000 <= r.clock.wallNow(),
    `now ${body.now}: the simulated time of the request`,
  );
  const bad = await r.req('GET', '/history?step=2');
  t.equal(`${bad.status} ${bad.text}`, '400 {"error":"Invalid step: 2 (1 or 5)"}');
  const since = await r.req('GET', '/history?since=abc');
  t.equal(since.status, 400);
  t.equal(JSON.parse((await r.req('GET', '/history')).text).step, 1, 'without a query');
});

t.test('GET /metrics: the text format, requests counted by route, the faces and connections given', async (t) => {
  const counters = new HttpCounters();
  const r = await apiRig(t, {
    api: {
      counters,
      faces: () => [{ face: 'web', address: '127.0.0.1:8080', up: false, error: 'EADDRINUSE' }],
      connections: () => [{ listener: 'socket', open: 3, dropped: 7 }],
    },
  });
  t.equal(r.api.counters, counters, 'the counters given are the ones used');
  await r.req('GET', '/usb/1');
  await r.req('GET', '/usb/9');
  await r.req('GET', '/nope');
  await r.req('DELETE', '/values');
  const m = await r.req('GET', '/metrics');
  t.equal(`${m.status} ${m.headers['content-type']}`, '200 text/plain; version=0.0.4; charset=utf-8');
  for (const line of [
    'halpi_http_requests_total{method="GET",route="/usb/{port}",status="200"} 1',
    'halpi_http_requests_total{method="GET",route="/usb/{port}",status="400"} 1',
    'halpi_http_requests_total{method="GET",route="unmatched",status="404"} 1',
    'halpi_http_requests_total{method="DELETE",route="/values",status="405"} 1',
    'halpi_face_up{face="web",address="127.0.0.1:8080"} 0',
    'halpi_face_error_info{face="web",error="EADDRINUSE"} 1',
    'halpi_connections_open{listener="socket"} 3',
    'halpi_connections_dropped_total{listener="socket"} 7',
  ])
    t.ok(m.text.split('\n').includes(line), line);
  t.match(m.text, /halpi_info\{daemon_version="test-1\.2\.3",.*api="5"\} 1/);
  const again = await r.req('GET', '/metrics');
  t.ok(
    again.text.split('\n').includes('halpi_http_requests_total{method="GET",route="/metrics",status="200"} 1'),
    'a request is counted once answered',
  );
});

t.test('GET /metrics on a listener given no faces nor connections', async (t) => {
  const r = await apiRig(t, { dialect: 4 });
  const m = await r.req('GET', '/metrics');
  t.equal(m.status, 200);
  t.match(m.text, /halpi_info\{.*api="4"\} 1/, 'the dialect of the request');
  t.notMatch(m.text, /halpi_face_up\{/);
});

t.test('a listener with a smaller body limit answers 413 past it', async (t) => {
  const r = await apiRig(t, { api: { bodyLimit: 8 } });
  const big = await r.req('PUT', '/usb/1', { headers: { 'Content-Type': 'application/json' }, body: '   false ' });
  t.equal(`${big.status} ${big.text}`, '413 Failed to buffer the request body: length limit exceeded');
  t.equal((await r.req('GET', '/usb/1')).text, 'true', 'nothing changed');
  t.equal((await r.req('PUT', '/usb/1', json(false))).status, 204, 'a body within the limit');
});

t.test('GET /events: a stream per listener budget; 503 past it; close() ends them', async (t) => {
  const r = await apiRig(t, { api: { maxStreams: 1 } });
  const open = () =>
    new Promise<{ status: number; type: string; first: string; end: Promise<void> }>((resolve, reject) => {
      const req = httpRequest(
        { socketPath: r.socket, path: '/events', agent: false, headers: { Host: 'localhost' } },
        (res) => {
          const end = new Promise<void>((e) => res.on('close', () => e()));
          res.once('data', (c: Buffer) =>
            resolve({
              status: res.statusCode ?? 0,
              type: String(res.headers['content-type']),
              first: c.toString(),
              end,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
  const s = await open();
  t.equal(`${s.status} ${s.type}`, '200 text/event-stream');
  t.match(s.first, /"daemon_version":"test-1\.2\.3"/, 'the hello names the version');
  const busy = await r.req('GET', '/events');
  t.equal(`${busy.status} ${busy.text}`, '503 {"error":"Too many event stream clients"}');
  const bad = await r.req('GET', '/events?interval=5');
  t.equal(bad.status, 400, 'the query is read');
  r.api.close();
  await s.end;
  t.pass('close() ended the stream');
  const d4 = await apiRig(t, { dialect: 4 });
  const hello = await new Promise<string>((resolve, reject) => {
    const req = httpRequest(
      { socketPath: d4.socket, path: '/events', agent: false, headers: { Host: 'localhost' } },
      (res) =>
        res.once('data', (c: Buffer) => {
          resolve(c.toString());
          req.destroy();
        }),
    );
    req.on('error', reject);
    req.end();
  });
  t.match(hello, /"api":"4"/, "the hub reports the listener's dialect");
});

t.test('an event hub given is the one served', async (t) => {
  let served = 0;
  const events = {
    serve: (ctx: { res: import('node:http').ServerResponse }) => {
      served++;
      ctx.res.writeHead(299).end();
    },
    close: () => {},
  } as unknown as EventHub;
  const r = await apiRig(t, { api: { events } });
  t.equal(r.api.events, events);
  t.equal((await r.req('GET', '/events')).status, 299);
  t.equal(served, 1);
});

t.test('a handler that fails unexpectedly: 500 with its message, in the dialect; the daemon goes on', async (t) => {
  const r = await apiRig(t);
  r.engine.readConfig = async () => {
    throw new Error('boom');
  };
  const e = await r.req('GET', '/config');
  t.equal(`${e.status} ${e.headers['content-type']} ${e.text}`, '500 application/json {"error":"boom"}');
  r.setDialect(4);
  const e4 = await r.req('GET', '/config');
  t.equal(`${e4.status} ${e4.headers['content-type']} ${e4.text}`, '500 text/plain; charset=utf-8 boom');
  t.equal((await r.req('GET', '/version')).status, 200, 'later requests are answered');
});

t.test('a handler that fails after its headers went: the connection is cut, not left hanging', async (t) => {
  const events = {
    serve: (ctx: { res: import('node:http').ServerResponse }) => {
      ctx.res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      ctx.res.flushHeaders();
      throw new Error('late failure');
    },
    close: () => {},
  } as unknown as EventHub;
  const r = await apiRig(t, { api: { events } });
  const outcome = await new Promise<string>((resolve) => {
    const req = httpRequest(
      { socketPath: r.socket, path: '/events', agent: false, headers: { Host: 'localhost' } },
      (res) => {
        res.on('error', () => resolve(`${res.statusCode} then cut`));
        res.on('aborted', () => resolve(`${res.statusCode} then cut`));
        res.on('end', () => resolve(`${res.statusCode} ended`));
        res.resume();
      },
    );
    req.on('error', (err) => resolve(`error ${err.message}`));
    req.end();
  });
  t.equal(outcome, '200 then cut');
  t.equal((await r.req('GET', '/version')).status, 200, 'later requests are answered');
});
