// Fair limits of the upsd TCP side (engine/nut/server.ts): the idle timeout counts complete
// commands only, anonymous clients cannot lock logged-in ones out, failed logins are rate-limited
// and logins are logged. Time is a FakeClock; loopback only, on a free port.
import t from 'tap';
import type { Socket } from 'node:net';
import { AUTH_BURST, AUTH_REFILL_MS } from '../../../engine/nut/auth-budget.js';
import { IDLE_MS, MAX_ANONYMOUS, MAX_CLIENTS } from '../../../engine/nut/server.js';
import { serveNut } from '../../helpers/nut-server.js';

/** Resolves once the server's side of `c` has received what was just sent. */
const received = (side: Socket) => new Promise((r) => side.once('data', r));

t.test('a client dribbling a byte a second is dropped after the idle time; one sending commands is not', async (t) => {
  const { clock, open } = await serveNut(t);
  const slow = await open();
  const busy = await open();
  const slowClosed = new Promise((r) => slow.side.once('close', r));
  let closed = false;
  void slowClosed.then(() => {
    closed = true;
  });
  let answers = 1;
  for (let s = 1; s * 1000 <= IDLE_MS + 1000 && !closed; s++) {
    const got = received(slow.side);
    slow.send('x'); // a byte a second, never a whole line
    await got;
    if (s % 20 === 0) {
      // a complete command every 20 s
      busy.send('NETVER\n');
      await busy.lines(++answers);
    }
    await clock.advance(1000);
  }
  await slowClosed;
  t.ok(closed, 'the dribbling client is gone');
  t.ok(clock.now() >= IDLE_MS && clock.now() <= IDLE_MS + 1000, `dropped at the idle time (${clock.now()} ms)`);
  t.equal(busy.side.destroyed, false, 'the client sending commands stays');
  busy.send('NETVER\n');
  t.equal((await busy.lines(answers + 1)).at(-1), '1.3');
  busy.sock.destroy();
});

t.test('anonymous clients cannot lock a logging-in client out: the quietest one makes way', async (t) => {
  const { clock, open } = await serveNut(t);
  const anon: Array<Awaited<ReturnType<typeof open>>> = [];
  for (let i = 0; i < MAX_ANONYMOUS; i++) {
    anon.push(await open());
    await clock.advance(1000); // each heard a second after the one before: anon[0] is the quietest
  }
  const quietestGone = new Promise((r) => anon[0]!.side.once('close', r));
  const monitor = await open('USERNAME u\nPASSWORD p\nLOGIN halpi2\n', 3);
  t.same(await monitor.lines(3), ['OK', 'OK', 'OK'], 'logged in');
  await quietestGone;
  t.equal(anon.slice(1).filter((c) => c.side.destroyed).length, 0, 'only the quietest was pushed out');
  // Logged-in clients are never pushed out: fill the rest of the slots with them.
  const logged = [monitor];
  while (logged.length < MAX_CLIENTS) {
    logged.push(await open('USERNAME u\nPASSWORD p\nLOGIN halpi2\n', 3));
  }
  t.equal(logged.filter((c) => c.side.destroyed).length, 0, 'every logged-in client kept its slot');
  t.equal(anon.filter((c) => !c.side.destroyed).length, 0, 'the anonymous ones made way');
  for (const c of [...anon, ...logged]) c.sock.destroy();
});

t.test('failed logins: the connection ends, logs are bounded, and a budget stops guessing', async (t) => {
  const { clock, logs, open } = await serveNut(t);
  const guess = async (password: string) => {
    const c = await open(`USERNAME u\nPASSWORD ${password}\nLOGIN halpi2\n`, 3);
    const lines = await c.lines(3);
    await c.ended();
    c.sock.destroy();
    return lines[2];
  };
  const ok = await open('USERNAME u\nPASSWORD p\nLOGIN halpi2\n', 3);
  t.equal((await ok.lines(3))[2], 'OK');
  t.ok(logs.includes('info NUT login: u from 127.0.0.1'), 'a login is logged with user and address');
  t.equal(await guess('wrong'), 'ERR ACCESS-DENIED', 'a wrong password is refused and the connection ends');
  for (let i = 1; i < AUTH_BURST + 20; i++) await guess(`wrong${i}`);
  t.equal(await guess('p'), 'ERR ACCESS-DENIED', 'the budget spent: even the right password is refused');
  // The primary logged in before the flood keeps its rights.
  ok.send('PRIMARY halpi2\n');
  t.equal((await ok.lines(4))[3], 'ERR ACCESS-DENIED', 'no new privilege while locked');
  const refusedLines = logs.filter((l) => l.startsWith('warn NUT login refused'));
  t.equal(refusedLines.length, AUTH_BURST, 'each failure logged while the budget lasts');
  t.equal(logs.filter((l) => l.startsWith('warn NUT logins refused for a while')).length, 1, 'then one line');
  await clock.advance(AUTH_REFILL_MS);
  const back = await open('USERNAME u\nPASSWORD p\nLOGIN halpi2\n', 3);
  t.equal((await back.lines(3))[2], 'OK', 'the budget refills with time');
  for (const c of [ok, back]) c.sock.destroy();
});

t.test('a primary granted before a login flood can still set FSD', async (t) => {
  const { open } = await serveNut(t);
  const primary = await open('USERNAME u\nPASSWORD p\nLOGIN halpi2\nPRIMARY halpi2\n', 4);
  for (let i = 0; i < AUTH_BURST + 1; i++) {
    const c = await open(`USERNAME u\nPASSWORD x${i}\nLOGIN halpi2\n`, 3);
    c.sock.destroy();
  }
  primary.send('FSD halpi2\n');
  t.same((await primary.lines(5)).slice(3), ['OK PRIMARY-GRANTED', 'OK FSD-SET']);
  primary.sock.destroy();
});
