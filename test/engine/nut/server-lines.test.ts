// The upsd TCP side (engine/nut/server.ts), line by line: an empty line is a line, only a CR at
// the end is dropped, a login is logged once, a refused login names its user, and nothing
// empty is logged once the failures are only counted. Time is a FakeClock; loopback only.
import t from 'tap';
import { FakeClock } from '../../../engine/clock.js';
import { AUTH_BURST } from '../../../engine/nut/auth-budget.js';
import { createNutServer, FULL_REPLY } from '../../../engine/nut/server.js';
import { nutClient } from '../../helpers/nut-client.js';

async function serve(t: { teardown(fn: () => unknown): void }) {
  const logs: string[] = [];
  const log = (level: string) => (m: string) => logs.push(`${level} ${m}`);
  const nut = createNutServer(
    {
      version: 'test',
      users: [{ name: 'u', password: 'p', role: 'secondary' }],
      variables: () => new Map([['ups.status', 'OL']]),
      forceShutdown() {},
    },
    { clock: new FakeClock(), logger: { info: log('info'), warn: log('warn'), error: log('error') } },
  );
  await new Promise<void>((r) => nut.server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => nut.close());
  const port = (nut.server.address() as { port: number }).port;
  return { logs, client: () => nutClient(port) };
}

t.test('a full server answers a NUT error libupsclient knows', async (t) => {
  t.equal(FULL_REPLY, 'ERR ACCESS-DENIED');
});

t.test('an empty line is answered as upsd does, and the next one too', async (t) => {
  const { client } = await serve(t);
  const c = client();
  c.send('\nNETVER\n\r\n');
  t.same(await c.lines(3), ['ERR UNKNOWN-COMMAND', '1.3', 'ERR UNKNOWN-COMMAND']);
  c.sock.destroy();
});

t.test('only a CR at the end of a line is dropped', async (t) => {
  const { client } = await serve(t);
  const c = client();
  c.send('GET DESC halpi2 a\rb\r\n');
  t.same(await c.lines(1), ['DESC halpi2 a\rb "Description unavailable"']);
  c.sock.destroy();
});

t.test('a login is logged once; a refused one names its user; nothing empty is logged', async (t) => {
  const { client, logs } = await serve(t);
  const c = client();
  c.send('NETVER\nUSERNAME u\nPASSWORD p\nLOGIN halpi2\nNETVER\nGET VAR halpi2 ups.status\n');
  await c.lines(6);
  t.same(
    logs.filter((l) => l.includes('login')),
    ['info NUT login: u from 127.0.0.1'],
  );
  for (let i = 0; i < AUTH_BURST + 2; i++) {
    const g = client();
    g.send(`USERNAME u\nPASSWORD x${i}\nLOGIN halpi2\n`);
    await g.ended();
    g.sock.destroy();
  }
  t.equal(logs.filter((l) => l === 'warn NUT login refused: user "u" from 127.0.0.1').length, AUTH_BURST);
  t.same(
    logs.filter((l) => !/^(info|warn) NUT /.test(l)),
    [],
    'every line says something',
  );
  c.sock.destroy();
});

t.test('a client that resets mid-reply is counted, and the server goes on', async (t) => {
  const { client, logs } = await serve(t);
  const { faceErrors } = await import('../../../engine/face-errors.js');
  const count = () => faceErrors.entries().find((e) => e.face === 'nut' && e.kind === 'socket')?.n ?? 0;
  const before = count();
  for (let i = 0; i < 20 && count() === before; i++) {
    const c = client();
    c.sock.pause(); // never reads: replies pile up on the server's side
    c.send('LIST UPS\n'.repeat(2000));
    await c.connected();
    await new Promise((r) => setImmediate(r));
    c.sock.resetAndDestroy();
    await c.closed();
  }
  t.ok(count() > before, 'a reset counted for /metrics');
  t.ok(logs.some((l) => l.startsWith('warn NUT server: a client connection failed')));
  const c = client();
  c.send('NETVER\n');
  t.same(await c.lines(1), ['1.3']);
  c.sock.destroy();
});
