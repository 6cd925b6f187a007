// The upsd TCP side (engine/nut/server.ts) when a client's replies back up: the server stops
// answering while its side of the connection holds more than a socket buffer, and once that has
// drained it answers the rest, in order, with nothing lost. On loopback the kernel takes tens of
// megabytes before a write has to wait, so the server's side is corked here instead: Node then
// keeps the replies in the socket's buffer exactly as it does behind a full kernel buffer, and
// uncorking lets them go, which emits the same 'drain'. FakeClock; loopback only.
import t from 'tap';
import { MAX_BATCH } from '../../../engine/nut/server.js';
import { countWrites, serveNut } from '../../helpers/nut-server.js';

// About 2 KiB a LIST VAR reply: eight fill a 16 KiB socket buffer.
const many = new Map(Array.from({ length: 50 }, (_, i) => [`test.variable${i}`, 'x'.repeat(20)]));
const ENDS = /END LIST VAR halpi2\n/g;

t.test('a client whose replies back up is answered on once they drain, every request in order', async (t) => {
  const { open } = await serveNut(t, { variables: () => many }, { cmdBurst: Infinity });
  const c = await open();
  const writes = countWrites(c.side);
  c.side.cork(); // the replies stay in the socket's buffer, as behind a full kernel buffer
  const stopped = new Promise<void>((r) => c.side.once('pause', () => r()));
  const N = 20; // fewer than a batch: only the backed-up replies can stop the server
  t.ok(N < MAX_BATCH, 'the requests fit in one batch');
  c.send('LIST VAR halpi2\n'.repeat(N));
  await stopped;
  const before = writes();
  t.ok(before < N, `the server stopped answering with its buffer full (${before} of ${N} replies written)`);
  t.ok(c.side.writableLength > c.side.writableHighWaterMark, 'the replies it wrote are waiting');
  t.equal(c.side.isPaused(), true, 'and it reads no more requests meanwhile');
  // The server's own 'drain' listener runs before this one: by now it has answered on.
  const drained = new Promise<number>((r) => c.side.once('drain', () => r(writes())));
  c.side.uncork();
  t.equal(await drained, N, 'answered on within the drain itself');
  t.equal(c.side.isPaused(), false, 'and reads requests again');
  await c.lines(1 + N * 52);
  t.equal(c.text().match(ENDS)?.length, N, 'every request answered');
  c.send('NETVER\n');
  t.equal((await c.lines(2 + N * 52))[1 + N * 52], '1.3', 'a request sent after the drain is answered too');
  c.sock.destroy();
});

t.test('backed up twice in one batch of requests: each drain answers on up to the next', async (t) => {
  const { open } = await serveNut(t, { variables: () => many }, { cmdBurst: Infinity });
  const c = await open();
  const writes = countWrites(c.side);
  const N = 30;
  c.side.cork();
  const stopped = new Promise<void>((r) => c.side.once('pause', () => r()));
  c.send('LIST VAR halpi2\n'.repeat(N));
  await stopped;
  const first = writes();
  // Let out the first lot only, then hold the next one back again as soon as the server writes it.
  const drained = new Promise<number>((r) =>
    c.side.once('drain', () => {
      r(writes());
    }),
  );
  c.side.uncork();
  c.side.cork();
  const second = await drained;
  t.ok(
    second > first && second < N,
    `the first drain answered on until the buffer was full again (${first} → ${second})`,
  );
  const again = new Promise<number>((r) => c.side.once('drain', () => r(writes())));
  c.side.uncork();
  t.ok((await again) > second, 'the second drain answered on');
  await c.lines(1 + N * 52);
  t.equal(c.text().match(ENDS)?.length, N, 'every request answered, none twice');
  c.sock.destroy();
});
