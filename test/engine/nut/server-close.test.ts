// How the upsd TCP side (engine/nut/server.ts) lets go of a connection: a last line that never
// leaves (a peer that stops reading) ends in a destroy after CLOSE_GRACE_MS at the latest, and a
// connection once gone leaves no timer behind (idle, command budget, grace). Time is a FakeClock;
// loopback only, on a free port.
import t from 'tap';
import type { Socket } from 'node:net';
import { CLOSE_GRACE_MS } from '../../../engine/nut/server.js';
import { nutClient } from '../../helpers/nut-client.js';
import { serveNut } from '../../helpers/nut-server.js';

const closed = (side: Socket) => new Promise<void>((r) => (side.destroyed ? r() : side.once('close', () => r())));

/** The server's side never finishes sending (as with a peer that stopped reading). */
function neverFlushes(side: Socket) {
  side.end = (() => side) as typeof side.end;
}

t.test('a last line that never leaves: destroyed after exactly CLOSE_GRACE_MS', async (t) => {
  const { clock, open } = await serveNut(t);
  for (const [what, line, n] of [
    ['LOGOUT', 'LOGOUT\n', 1],
    ['a wrong password', 'USERNAME u\nPASSWORD x\nLOGIN halpi2\n', 2],
    ['a line too long', `${'x'.repeat(2000)}\n`, 0],
  ] as const) {
    const c = await open();
    neverFlushes(c.side);
    c.send(line);
    // Wait until the server has read it: its answers before the last one, then its turn to close.
    await c.lines(1 + n);
    await new Promise<void>((r) => {
      const check = () => (c.side.bytesRead >= 'NETVER\n'.length + line.length ? r() : c.side.once('data', check));
      check();
    });
    await clock.advance(CLOSE_GRACE_MS - 1);
    t.equal(c.side.destroyed, false, `${what}: not before`);
    await clock.advance(1);
    t.equal(c.side.destroyed, true, `${what}: at CLOSE_GRACE_MS`);
    await c.closed();
  }
});

t.test('a connection gone leaves no timer behind', async (t) => {
  const { clock, open } = await serveNut(t, {}, { cmdBurst: 1, cmdRate: 1 });
  t.equal(clock.pending, 0);
  const a = await open();
  t.equal(clock.pending, 1, 'its idle timer');
  a.sock.destroy();
  await closed(a.side);
  t.equal(clock.pending, 0, 'the idle timer cleared');
  const b = await open('NETVER\nNETVER\n');
  await new Promise<void>((r) => {
    const check = () => (b.side.bytesRead >= 14 ? r() : b.side.once('data', check));
    check();
  });
  t.equal(clock.pending, 2, 'its idle timer and its command budget');
  b.sock.destroy();
  await closed(b.side);
  t.equal(clock.pending, 0, 'both cleared');
  const c = await open();
  c.send('LOGOUT\n');
  await clock.advance(1000); // the command budget: one a second
  await c.closed();
  await closed(c.side);
  t.equal(clock.pending, 0, 'after LOGOUT, the grace timer cleared too');
});

t.test('a last line that leaves: the connection is destroyed then, not a grace period later', async (t) => {
  // A peer that keeps its own side open (allowHalfOpen) would otherwise hold the slot until the
  // grace timer; the fake clock never moves here, so only the flush can end it.
  const { clock, nut, port } = await serveNut(t);
  const accepted = new Promise<Socket>((r) => nut.server.once('connection', r));
  const c = nutClient(port, { allowHalfOpen: true });
  const side = await accepted;
  c.send('LOGOUT\n');
  await c.ended(); // the goodbye and the server's FIN came
  t.equal(c.text(), 'OK Goodbye\n');
  await Promise.race([
    closed(side),
    new Promise((_, reject) => setTimeout(() => reject(new Error('still open with its line flushed')), 5000).unref()),
  ]);
  t.equal(clock.pending, 0, 'and its grace timer cleared');
  c.sock.destroy();
});
