// BusQueue: one logical bus operation at a time; runNow gives an answer that needs no promise
// without one (the tick's read from a bus that answers at once), and still waits its turn.
import t from 'tap';
import { BusQueue } from '../../engine/queue.js';

t.test('runNow on a free bus returns the value itself and frees the bus at once', async (t) => {
  const q = new BusQueue();
  const out = q.runNow(() => 42);
  t.equal(out, 42, 'no promise');
  const order: string[] = [];
  await q.run(async () => void order.push('next'));
  t.same(order, ['next'], 'the next operation did not wait');
  t.equal(q.waits, 0);
});

t.test('runNow holds the bus until the promise its operation returned has settled', async (t) => {
  const q = new BusQueue();
  let finish!: (v: number) => void;
  const first = q.runNow(() => new Promise<number>((r) => (finish = r)));
  t.ok(first instanceof Promise);
  const order: string[] = [];
  const second = q.run(async () => void order.push('second'));
  await Promise.resolve();
  t.same(order, [], 'the second operation waits');
  finish(7);
  t.equal(await first, 7);
  await second;
  t.same(order, ['second']);
  t.equal(q.waits, 1);
});

t.test('runNow on a busy bus waits its turn, behind those already waiting', async (t) => {
  const q = new BusQueue();
  let finish!: () => void;
  const order: string[] = [];
  const held = q.run(() => new Promise<void>((r) => (finish = r)));
  const waiting = q.run(async () => void order.push('waiting'));
  const now = q.runNow(() => {
    order.push('now');
    return 1;
  });
  t.ok(now instanceof Promise, 'a promise while the bus is taken');
  t.same(order, [], 'nothing ran meanwhile');
  finish();
  await held;
  t.equal(await now, 1);
  await waiting;
  t.same(order, ['waiting', 'now']);
});

t.test('runNow that throws frees the bus and throws to its caller', async (t) => {
  const q = new BusQueue();
  t.throws(
    () =>
      q.runNow(() => {
        throw new Error('bus gone');
      }),
    { message: 'bus gone' },
  );
  t.equal(
    q.runNow(() => 'free'),
    'free',
    'the bus is free again',
  );
  const failed = q.runNow(() => Promise.reject(new Error('later')));
  await t.rejects(failed as Promise<never>, { message: 'later' });
  t.equal(
    q.runNow(() => 'free'),
    'free',
    'freed after a rejection too',
  );
});
