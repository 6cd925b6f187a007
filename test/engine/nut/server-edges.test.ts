// The upsd TCP side (engine/nut/server.ts) at its edges, as a NUT client would meet them: the
// exact line limit and CRLF, the idle time counted from the last command, what ends a connection
// (LOGOUT, a wrong password) and what does not (a refused role, a failing command), the command
// rate refilling, who counts as logged in, and what is logged and counted. Time is a FakeClock;
// loopback only, on a free port.
import t from 'tap';
import type { Server, Socket } from 'node:net';
import { faceErrors } from '../../../engine/face-errors.js';
import { createNutServer, IDLE_MS, MAX_ANONYMOUS, MAX_LINE } from '../../../engine/nut/server.js';
import { countWrites, serveNut } from '../../helpers/nut-server.js';

const count = (kind: string) => faceErrors.entries().find((e) => e.face === 'nut' && e.kind === kind)?.n ?? 0;
const closed = (side: Socket) => new Promise<void>((r) => (side.destroyed ? r() : side.once('close', () => r())));
/** Resolves once the server's side has read `n` bytes in all. */
const hasRead = (side: Socket, n: number) =>
  new Promise<void>((r) => {
    const check = () => {
      if (side.bytesRead < n) return;
      side.off('data', check);
      r();
    };
    side.on('data', check);
    check();
  });

t.test('a line of exactly MAX_LINE characters is answered, one more ends the connection', async (t) => {
  const { open } = await serveNut(t);
  const exact = `GET VAR halpi2 ${'x'.repeat(MAX_LINE - 'GET VAR halpi2 '.length)}`;
  t.equal(exact.length, MAX_LINE);
  const a = await open(`${exact}\nNETVER\n`, 2);
  t.same(await a.lines(2), ['ERR VAR-NOT-SUPPORTED', '1.3'], 'answered, and the connection stays');
  a.send(`${exact}\r\n`);
  t.equal((await a.lines(3))[2], 'ERR VAR-NOT-SUPPORTED', 'CRLF: the CR is not counted');
  a.sock.destroy();
  const b = await open(`${exact}x\nNETVER\n`, 1);
  await b.ended();
  t.equal(b.text(), 'ERR INVALID-ARGUMENT\n', 'refused, and nothing after it answered');
});

t.test('a partial line of exactly MAX_LINE characters is kept until its newline', async (t) => {
  const { open } = await serveNut(t);
  const c = await open();
  const exact = `GET VAR halpi2 ${'y'.repeat(MAX_LINE - 'GET VAR halpi2 '.length)}`;
  const before = c.side.bytesRead;
  c.send(exact);
  await hasRead(c.side, before + MAX_LINE);
  c.send('\n');
  t.same(await c.lines(2), ['1.3', 'ERR VAR-NOT-SUPPORTED']);
  t.equal(c.side.destroyed, false);
  c.sock.destroy();
});

t.test('CRLF line ends, as telnet sends them', async (t) => {
  const { open } = await serveNut(t);
  const c = await open('NETVER\r\nGET VAR halpi2 ups.status\r\nLIST UPS\r\n', 5);
  t.same(await c.lines(5), [
    '1.3',
    'VAR halpi2 ups.status "OL"',
    'BEGIN LIST UPS',
    'UPS halpi2 "HALPI2 supercapacitor UPS"',
    'END LIST UPS',
  ]);
  c.sock.destroy();
});

t.test('a client that says nothing is dropped after exactly IDLE_MS', async (t) => {
  const { clock, silent } = await serveNut(t);
  const c = await silent();
  await clock.advance(IDLE_MS - 1);
  t.equal(c.side.destroyed, false, 'not before');
  await clock.advance(1);
  t.equal(c.side.destroyed, true, 'at IDLE_MS');
  await c.ended();
});

t.test('the idle time counts from the last complete command', async (t) => {
  const { clock, open } = await serveNut(t);
  const c = await open(); // heard at 0
  await clock.advance(IDLE_MS / 2);
  c.send('NETVER\n');
  await c.lines(2); // heard at IDLE_MS / 2
  await clock.advance(IDLE_MS / 2);
  t.equal(c.side.destroyed, false, 'kept at IDLE_MS: it spoke since');
  await clock.advance(IDLE_MS / 2 - 1);
  t.equal(c.side.destroyed, false, 'kept until IDLE_MS after its last command');
  await clock.advance(1);
  t.equal(c.side.destroyed, true, 'dropped IDLE_MS after its last command');
});

t.test('LOGOUT: goodbye, and nothing pipelined after it is answered', async (t) => {
  const { open, logs } = await serveNut(t);
  const c = await open('USERNAME u\nPASSWORD p\nLOGIN halpi2\nLOGOUT\nNETVER\nVER\n', 4);
  await c.ended();
  t.equal(c.text(), 'OK\nOK\nOK\nOK Goodbye\n');
  await closed(c.side);
  t.ok(logs.includes('info NUT logout: u from 127.0.0.1'), 'the logout is logged');
});

t.test('a wrong password ends the connection; a refused role or a failing command does not', async (t) => {
  let fail: Error | null = null;
  const { open, logs, fsd } = await serveNut(t, {
    variables: () => {
      if (fail) throw fail;
      return new Map([['ups.status', 'OL']]);
    },
  });
  const wrong = await open('USERNAME u\nPASSWORD x\nLOGIN halpi2\nNETVER\n', 3);
  await wrong.ended();
  t.equal(wrong.text(), 'OK\nOK\nERR ACCESS-DENIED\n', 'refused, closed, the rest unanswered');
  t.ok(
    logs.some((l) => /^warn NUT login refused.*u.*127\.0\.0\.1/.test(l)),
    'the failure is logged with user and address',
  );
  const secondary = await open('USERNAME s\nPASSWORD p\nLOGIN halpi2\nPRIMARY halpi2\nFSD halpi2\nNETVER\n', 6);
  t.same(await secondary.lines(6), ['OK', 'OK', 'OK', 'ERR ACCESS-DENIED', 'ERR ACCESS-DENIED', '1.3']);
  t.equal(secondary.side.destroyed, false, 'a secondary refused PRIMARY stays connected');
  t.equal(fsd(), 0);
  const handlerBefore = count('handler');
  fail = new Error('boom');
  secondary.send('GET VAR halpi2 ups.status\nLIST VAR halpi2\n');
  t.same((await secondary.lines(8)).slice(6), ['ERR UNKNOWN', 'ERR UNKNOWN'], 'a failing command answers ERR UNKNOWN');
  fail = new Error('bang');
  secondary.send('GET VAR halpi2 ups.status\n');
  await secondary.lines(9);
  fail = null;
  secondary.send('GET VAR halpi2 ups.status\n');
  t.equal((await secondary.lines(10))[9], 'VAR halpi2 ups.status "OL"', 'and the connection goes on');
  t.equal(count('handler') - handlerBefore, 3, 'each failure counted for /metrics');
  const warned = logs.filter((l) => l.startsWith('warn NUT server: a command failed'));
  t.same(
    warned,
    [
      'warn NUT server: a command failed (boom); further ones are only counted (halpi_face_errors_total{face="nut",kind="handler"})',
      'warn NUT server: a command failed (bang); further ones are only counted (halpi_face_errors_total{face="nut",kind="handler"})',
    ],
    'logged once per kind and cause',
  );
  secondary.sock.destroy();
  await closed(secondary.side);
  t.ok(logs.includes('info NUT logout: s from 127.0.0.1'));
});

t.test('FSD through the server: a primary sets it, once per command', async (t) => {
  const { open, fsd } = await serveNut(t);
  const c = await open('USERNAME u\nPASSWORD p\nLOGIN halpi2\nPRIMARY halpi2\nFSD halpi2\n', 5);
  t.same(await c.lines(5), ['OK', 'OK', 'OK', 'OK PRIMARY-GRANTED', 'OK FSD-SET']);
  t.equal(fsd(), 1);
  c.send('FSD halpi2\n');
  await c.lines(6);
  t.equal(fsd(), 2);
  c.sock.destroy();
});

t.test('only logged-in clients are clients: NUMLOGINS, LIST CLIENT, clients()', async (t) => {
  const { nut, open, logs } = await serveNut(t);
  const anon = await open();
  const credentials = await open('USERNAME u\nPASSWORD p\n', 2);
  const logged = await open('USERNAME s\nPASSWORD p\nLOGIN halpi2\n', 3);
  t.same(nut.clients(), ['127.0.0.1']);
  anon.send('GET NUMLOGINS halpi2\nLIST CLIENT halpi2\n');
  t.same((await anon.lines(5)).slice(1), [
    'NUMLOGINS halpi2 1',
    'BEGIN LIST CLIENT halpi2',
    'CLIENT halpi2 127.0.0.1',
    'END LIST CLIENT halpi2',
  ]);
  logged.sock.destroy();
  await closed(logged.side);
  t.same(nut.clients(), [], 'gone with its connection');
  credentials.sock.destroy();
  anon.sock.destroy();
  await closed(credentials.side);
  await closed(anon.side);
  t.same(
    logs.filter((l) => l.startsWith('info NUT logout')),
    ['info NUT logout: s from 127.0.0.1'],
    'no logout line for a client that never logged in',
  );
});

t.test('the command budget refills at cmdRate a second, one command at a time', async (t) => {
  const { clock, open } = await serveNut(t, {}, { cmdBurst: 2, cmdRate: 100 });
  const c = await open('NETVER\nNETVER\nNETVER\nNETVER\nNETVER\nNETVER\n', 2);
  const writes = countWrites(c.side);
  const turns = async () => {
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
  };
  await turns();
  t.equal(writes(), 0, 'the burst of 2 spent, the rest waits');
  await clock.advance(9);
  await turns();
  t.equal(writes(), 0, 'one command needs 10 ms at 100 a second');
  await clock.advance(1);
  await c.lines(3);
  await turns();
  t.equal(writes(), 1, 'at 10 ms, one more');
  await clock.advance(20);
  await c.lines(5);
  await turns();
  t.equal(writes(), 3, '20 ms later, two more');
  await clock.advance(1000);
  t.equal((await c.lines(6)).length, 6, 'all answered in the end');
  c.sock.destroy();
});

t.test('a pushed-out anonymous client is counted and logged once', async (t) => {
  const { clock, open, logs } = await serveNut(t);
  const evictedBefore = count('evicted');
  const anon = [];
  for (let i = 0; i < MAX_ANONYMOUS + 2; i++) {
    anon.push(await open());
    await clock.advance(1000);
  }
  await closed(anon[0]!.side);
  await closed(anon[1]!.side);
  t.equal(count('evicted') - evictedBefore, 2);
  t.same(
    logs.filter((l) => l.includes('made way')),
    [
      'warn NUT server: the quietest client not logged in made way for a new one (127.0.0.1); further ones are only counted (halpi_face_errors_total{face="nut",kind="evicted"})',
    ],
  );
  t.equal(anon.slice(2).filter((c) => c.side.destroyed).length, 0, 'the others stay');
  for (const c of anon) c.sock.destroy();
});

t.test('close() ends every connection', async (t) => {
  const { nut, open, silent } = await serveNut(t);
  const a = await open('USERNAME u\nPASSWORD p\nLOGIN halpi2\n', 3);
  const b = await silent();
  await nut.close();
  await a.ended();
  await b.ended();
  t.equal(a.side.destroyed && b.side.destroyed, true);
  t.equal(nut.server.listening, false);
});

t.test("a listener failure is counted and logged, never thrown; one before listening is the caller's", async (t) => {
  const { nut, logs } = await serveNut(t);
  const before = count('server');
  nut.server.emit('error', Object.assign(new Error('accept failed'), { code: 'EMFILE' }));
  t.equal(count('server') - before, 1);
  t.ok(
    logs.includes(
      'warn NUT server: the listener failed (EMFILE); further ones are only counted (halpi_face_errors_total{face="nut",kind="server"})',
    ),
  );
  const idle = createNutServer({ version: 'x', users: [], variables: () => null, forceShutdown() {} });
  (idle.server as Server).emit('error', new Error('EADDRINUSE'));
  t.equal(count('server') - before, 1, 'not counted: startNutServer rejects it');
});

t.test('replies waiting for a paused client are measured', async (t) => {
  const vars = new Map(Array.from({ length: 50 }, (_, i) => [`test.variable${i}`, 'x'.repeat(20)]));
  const { nut, open } = await serveNut(t, { variables: () => vars }, { cmdBurst: Infinity });
  const c = await open();
  c.sock.pause();
  c.send('LIST VAR halpi2\n'.repeat(2000));
  // The server pauses after each batch too; wait for the pause of a full socket buffer.
  for (let i = 0; i < 2000 && c.side.writableLength === 0; i++) await new Promise((r) => c.side.once('pause', r));
  t.ok(c.side.writableLength > 0, 'the client stopped taking replies');
  t.ok(nut.peakOutput() > 0, `replies waited (${nut.peakOutput()} bytes at most)`);
  t.ok(nut.peakOutput() >= c.side.writableLength, 'the peak is at least what waits now');
  c.sock.destroy();
});
