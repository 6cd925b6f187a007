// Fair shares of the upsd TCP side (engine/nut/server.ts) at their boundaries: with every slot
// taken, an anonymous client makes way even below MAX_ANONYMOUS, and the command burst is never
// more than CMD_BURST however long a client was quiet. Time is a FakeClock; loopback only.
import t from 'tap';
import { MAX_ANONYMOUS, MAX_CLIENTS } from '../../../engine/nut/server.js';
import { countWrites, serveNut } from '../../helpers/nut-server.js';

// Here `u` may not be primary: every login is a secondary's.
const SECONDARY_U = { users: [{ name: 'u', password: 'p', role: 'secondary' as const }] };

t.test('every slot taken, few of them anonymous: the quietest anonymous one still makes way', async (t) => {
  const { clock, open } = await serveNut(t, SECONDARY_U);
  const anonymous = MAX_ANONYMOUS / 2;
  t.ok(anonymous >= 2 && anonymous < MAX_ANONYMOUS);
  const anon = [];
  for (let i = 0; i < anonymous; i++) {
    anon.push(await open());
    await clock.advance(1000);
  }
  const logged = [];
  while (anon.length + logged.length < MAX_CLIENTS)
    logged.push(await open('USERNAME u\nPASSWORD p\nLOGIN halpi2\n', 3));
  const next = await open('LIST UPS\n', 3);
  t.equal(next.text().split('\n')[0], 'BEGIN LIST UPS', 'the new client is served');
  // Made way before the new client was served: no wait needed, and none that could hang.
  t.equal(anon[0]!.side.destroyed, true, 'the quietest made way');
  t.equal(anon.filter((c) => c.side.destroyed).length, 1, 'only it');
  t.equal(logged.filter((c) => c.side.destroyed).length, 0, 'no logged-in client');
  for (const c of [...anon, ...logged, next]) c.sock.destroy();
});

t.test('a long quiet spell earns no more than the burst', async (t) => {
  const { clock, open } = await serveNut(t, SECONDARY_U, { cmdBurst: 2, cmdRate: 100 });
  const c = await open();
  await clock.advance(60_000 - 1); // quiet for almost the idle time
  const writes = countWrites(c.side);
  c.send('NETVER\nNETVER\nNETVER\nNETVER\n');
  await c.lines(3);
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
  t.equal(writes(), 2, 'two at once, the burst');
  await clock.advance(10);
  t.equal((await c.lines(4)).length, 4, 'then one each 10 ms');
  await clock.advance(10);
  t.equal((await c.lines(5)).length, 5);
  c.sock.destroy();
});
