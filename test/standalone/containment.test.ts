// The HTTP faces are bounded (docs/configuration.md, "Faces"): a flood of idle connections on
// either listener leaves the daemon alive and the Unix socket answering; event streams on the web
// listener cannot use up the Unix socket's; request heads and web bodies have a size limit.
import t from 'tap';
import type { Socket } from 'node:net';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { closed, firstReply, head, open, type Target } from '../helpers/clients.js';
import { freePort } from '../helpers/net.js';

let d: RunningDaemon;
let webPort = 0;
t.before(async () => {
  webPort = await freePort();
  d = await startDaemon(['--web', `127.0.0.1:${webPort}`]);
});
t.teardown(() => d?.stop());

const web = (): Target => ({ port: webPort });
const unix = (): Target => ({ path: d.socket });

/**
 * `n` connections that say nothing, opened 100 at a time; some are dropped by the daemon meanwhile,
 * and a Unix socket whose backlog is full refuses some at the door (EAGAIN), as for any flooder.
 */
async function flood(target: Target, n: number): Promise<Socket[]> {
  const all: Array<Socket | null> = [];
  for (let i = 0; i < n; i += 100) {
    all.push(
      ...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => open(target).catch(() => null)))),
    );
  }
  return all.filter((s): s is Socket => s !== null);
}

/**
 * A request made just after a flood: while the flooders' connections still fill the Unix socket's
 * backlog, the kernel refuses any connect with EAGAIN, whoever makes it (as it would halpi's). Try
 * again each turn of the event loop until the daemon has accepted them; bounded, and loud.
 */
async function afterBacklog<T>(request: () => Promise<T>): Promise<T> {
  for (let i = 0; i < 20_000; i++) {
    try {
      return await request();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  throw new Error('the Unix socket refused 20,000 connects in a row (EAGAIN): its backlog never drained');
}

// Issue 18's figure: 15,000 on each listener (they killed the daemon's 32 MB heap before).
const IDLE = Number(process.env.HALPI2_IDLE_CONNECTIONS ?? 15_000);

t.test(
  `${IDLE.toLocaleString('en')} idle connections on each listener: the daemon lives, the socket answers, the drops are counted`,
  async (t) => {
    const idle = [...(await flood(web(), IDLE)), ...(await flood(unix(), IDLE))];
    t.teardown(() => {
      for (const s of idle) s.destroy();
    });
    t.equal((await afterBacklog(() => d.req('GET', '/version'))).status, 200, 'the Unix socket answers');
    const s = await open(web());
    t.match(
      await firstReply(s, head('GET', '/api/version', `127.0.0.1:${webPort}`)),
      /^HTTP\/1\.1 200 /,
      'the web listener answers',
    );
    s.destroy();
    const metrics = (await d.req('GET', '/metrics')).text;
    t.match(metrics, /halpi_connections_dropped_total\{listener="socket"\} ([1-9]\d*)/, 'the socket dropped idle ones');
    t.match(metrics, /halpi_connections_dropped_total\{listener="web"\} ([1-9]\d*)/, 'so did the web listener');
    const open_ = Number(/halpi_connections_open\{listener="socket"\} (\d+)/.exec(metrics)?.[1]);
    t.ok(open_ <= 256, `at most 256 open on the socket (${open_})`);
    // The oldest were dropped: the first connection of the flood is closed by the daemon.
    await closed(idle[0]!);
    t.equal(d.proc.exitCode, null, 'still running');
  },
);

t.test(
  '20 event streams on the web listener: 16 open, 4 refused, and /events on the socket still streams',
  async (t) => {
    const statuses: string[] = [];
    const streams: Socket[] = [];
    for (let i = 0; i < 20; i++) {
      const s = await open(web());
      streams.push(s);
      statuses.push((await firstReply(s, head('GET', '/api/events', `127.0.0.1:${webPort}`))).slice(9, 12));
    }
    t.teardown(() => {
      for (const s of streams) s.destroy();
    });
    t.same(statuses, [...Array(16).fill('200'), ...Array(4).fill('503')]);
    const s = await open(unix());
    t.teardown(() => s.destroy());
    const reply = await firstReply(s, head('GET', '/events', 'localhost'));
    t.match(reply, /^HTTP\/1\.1 200 /, '/events on the Unix socket');
    t.match(reply, /text\/event-stream/);
  },
);

t.test('request heads over 8 KiB get 431; web bodies over 64 KiB get 413; the socket keeps 2 MiB', async (t) => {
  const s = await open(unix());
  t.match(
    await firstReply(s, head('GET', '/version', 'localhost', `X-Big: ${'a'.repeat(9000)}\r\n`)),
    /^HTTP\/1\.1 431 /,
  );
  s.destroy();
  const body = JSON.stringify({ pad: 'x'.repeat(70 * 1024) });
  const token = /#token=(\S+)$/.exec(await d.waitLog(/Open the panel with/))![1]!;
  const w = await open(web());
  const reply = await firstReply(
    w,
    head(
      'POST',
      '/api/standby',
      `127.0.0.1:${webPort}`,
      `Content-Type: application/json\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${body.length}\r\n`,
    ) + body,
  );
  t.match(reply, /^HTTP\/1\.1 413 /);
  w.destroy();
  // The same body on the socket is read (and refused for its content, not its size).
  const r = await d.req('POST', '/standby', { headers: { 'Content-Type': 'application/json' }, body });
  t.equal(r.status, 422, r.text);
});
