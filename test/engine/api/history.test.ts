// GET /history: the engine's buffer as the API serves it, on the API handler (the Unix socket's)
// and under /api on the web listener, without the token (a read), with its query checks.
import t from 'tap';
import { serveOnLoopback } from '../../helpers/net.js';
import { request as httpRequest } from 'node:http';
import { createApi } from '../../../engine/api/router.js';
import { createWebApp } from '../../../standalone/web.js';
import { engineRig } from '../../helpers/engine.js';

async function serve(t: { teardown: (fn: () => unknown) => void }) {
  const rig = engineRig({ settings: { blackoutTimeLimitS: 60 } });
  const api = createApi({ engine: rig.engine, version: 'test', dialect: () => 5, flash: false });
  t.teardown(() => api.close());
  const listen = (handler: Parameters<typeof serveOnLoopback>[1]) => serveOnLoopback(t, handler);
  const direct = await listen((req, res) => api.handle(req, res));
  const web = await listen(createWebApp({ api, bound: { host: '127.0.0.1', port: 8080 }, token: () => 'tok' }));
  const get = (port: number, path: string, method = 'GET') =>
    new Promise<{ status: number; type: string; text: string }>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path, method, agent: false, headers: { Host: `localhost:${port}` } },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), text }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
  return { ...rig, get, direct, web };
}

t.test(
  'GET /history: columns of equal length, the blackout marked and listed; the same under /api on the web listener',
  async (t) => {
    const { clock, sim, engine, get, direct, web, stop } = await serve(t);
    engine.start();
    await clock.advance(20_000);
    sim.setPower(false);
    await clock.advanceUntil(() => engine.state === 'BLACKOUT', 2000);
    await clock.advance(3000);
    sim.setPower(true);
    await clock.advanceUntil(() => engine.state === 'OK', 3000);
    await clock.advance(5000);
    await stop();

    const r = await get(direct, '/history');
    t.equal(r.status, 200);
    t.equal(r.type, 'application/json');
    const h = JSON.parse(r.text);
    t.equal(h.step, 1, 'half a minute of daemon life: 1 s buckets');
    t.equal(h.now, engine.clock.wallNow() / 1000);
    const n = h.buckets.t.length;
    t.ok(n >= 28 && n <= 32, `${n} buckets`);
    for (const [k, col] of Object.entries(h.buckets))
      t.equal((col as unknown[]).length, n, `${k}: one entry per bucket`);
    t.ok(h.buckets.blackout.filter((b: number) => b === 1).length >= 3, 'the blackout seconds are marked');
    t.ok(
      h.buckets.V_in_min.some((v: number | null) => v !== null && v < 1),
      'the cut shows in V_in',
    );
    t.equal(h.blackouts.length, 1);
    t.equal(h.blackouts[0].outcome, 'power_returned');
    t.ok(
      h.blackouts[0].start > Date.UTC(2026, 0, 1) / 1000 + 19 &&
        h.blackouts[0].start < Date.UTC(2026, 0, 1) / 1000 + 22,
      'start in Unix seconds',
    );

    const w = await get(web, '/api/history');
    t.equal(w.status, 200, 'a read: no token needed on the web listener');
    t.same(JSON.parse(w.text), h, 'the same answer');

    const last10 = JSON.parse((await get(direct, '/history?since=-10')).text);
    t.ok(last10.buckets.t.length >= 9 && last10.buckets.t.length <= 11, 'since=-10: the last 10 seconds');
    t.ok(last10.buckets.t[0] >= h.now - 10);
    const coarse = JSON.parse((await get(direct, `/history?since=${h.now - 30}&step=5`)).text);
    t.equal(coarse.step, 5);
    t.ok(
      coarse.buckets.t.length >= 5 && coarse.buckets.t.length <= 7,
      `${coarse.buckets.t.length} five-second buckets`,
    );
  },
);

t.test('GET /history refuses a bad since or step with a clear error; other methods are 405', async (t) => {
  const { get, direct } = await serve(t);
  for (const [q, msg] of [
    ['since=yesterday', 'Invalid since: yesterday'],
    ['since=', 'Invalid since'],
    ['step=2', 'Invalid step: 2 (1 or 5)'],
  ]) {
    const r = await get(direct, `/history?${q}`);
    t.equal(r.status, 400, q!);
    t.match(JSON.parse(r.text).error, msg!);
  }
  const empty = JSON.parse((await get(direct, '/history')).text);
  t.same(empty.buckets.t, [], 'nothing read yet: empty columns');
  t.same(empty.blackouts, []);
  const post = await get(direct, '/history', 'POST');
  t.equal(post.status, 405);
});
