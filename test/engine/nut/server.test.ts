// The upsd TCP side (engine/nut/server.ts): concurrent clients, a line too long, too many
// clients, and LOGOUT closing the connection. Loopback only, on a free port.
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { createNutServer, MAX_CLIENTS, MAX_LINE } from '../../../engine/nut/server.js';

async function serve(t: { teardown(fn: () => unknown): void }) {
  const nut = createNutServer({
    version: 'test', users: [{ name: 'u', password: 'p', role: 'secondary' }],
    variables: () => new Map([['ups.status', 'OL']]), forceShutdown() {},
  });
  await new Promise<void>((r) => nut.server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => nut.close());
  return { nut, port: (nut.server.address() as { port: number }).port };
}

/** A client that collects what the server says and resolves when `n` lines have come, or the end. */
function client(port: number) {
  const sock: Socket = connect(port, '127.0.0.1');
  let text = '';
  let closed = false;
  const waiters: Array<() => void> = [];
  const wake = () => { for (const w of waiters.splice(0)) w(); };
  sock.setEncoding('utf8');
  sock.on('data', (c: string) => { text += c; wake(); });
  sock.on('close', () => { closed = true; wake(); });
  sock.on('error', () => {});
  const lines = async (n: number) => {
    while (text.split('\n').length - 1 < n && !closed) await new Promise<void>((r) => waiters.push(r));
    return text.split('\n').slice(0, n);
  };
  const ended = async () => {
    while (!closed) await new Promise<void>((r) => waiters.push(r));
  };
  return { sock, lines, ended, send: (s: string) => sock.write(s) };
}

t.test('concurrent clients each get their own answers, in order', async (t) => {
  const { port, nut } = await serve(t);
  const cs = Array.from({ length: 5 }, () => client(port));
  cs.forEach((c, i) => c.send(`USERNAME u\nPASSWORD p\nLOGIN halpi2\nGET VAR halpi2 ups.status\nGET VAR halpi2 nope${i}\n`));
  for (const c of cs) t.same(await c.lines(5), ['OK', 'OK', 'OK', 'VAR halpi2 ups.status "OL"', 'ERR VAR-NOT-SUPPORTED']);
  t.equal(nut.clients().length, 5, 'five logins');
  const lister = client(port);
  lister.send('GET NUMLOGINS halpi2\n');
  t.same(await lister.lines(1), ['NUMLOGINS halpi2 5']);
  for (const c of [...cs, lister]) c.sock.destroy();
});

t.test('a line longer than the limit ends the connection; a partial line too', async (t) => {
  const { port } = await serve(t);
  const a = client(port);
  a.send(`GET VAR halpi2 ${'x'.repeat(MAX_LINE)}\n`);
  t.same(await a.lines(1), ['ERR INVALID-ARGUMENT']);
  await a.ended();
  const b = client(port);
  b.send('y'.repeat(MAX_LINE + 10)); // never a newline
  t.same(await b.lines(1), ['ERR INVALID-ARGUMENT']);
  await b.ended();
  t.pass('both closed');
});

t.test('more clients than the limit are turned away; LOGOUT says goodbye and closes', async (t) => {
  const { port } = await serve(t);
  const cs = Array.from({ length: MAX_CLIENTS }, () => client(port));
  for (const c of cs) {
    c.send('NETVER\n');
    t.same(await c.lines(1), ['1.3']);
  }
  const extra = client(port);
  t.same(await extra.lines(1), ['ERR MAX-CLIENTS']);
  await extra.ended();
  cs[0]!.send('LOGOUT\n');
  t.same(await cs[0]!.lines(2), ['1.3', 'OK Goodbye']);
  await cs[0]!.ended();
  for (const c of cs) c.sock.destroy();
});
