// runSteps: a sequence of reads without a promise while each is answered at once, and as an async
// function from the first read that is a promise on.
import t from 'tap';
import { runSteps, stepsPromise, type Read, type Steps } from '../../engine/steps.js';

const b = (...xs: number[]) => Uint8Array.of(...xs);

function* sum(reads: Read[], log: string[]): Steps<number> {
  let total = 0;
  for (const r of reads) {
    try {
      total += (yield r)[0]!;
    } catch (err) {
      log.push(`caught ${(err as Error).message}`);
    }
  }
  return total;
}

t.test('reads answered at once: the result itself, no promise', async (t) => {
  const out = runSteps(sum([b(1), b(2), b(3)], []));
  t.equal(out, 6);
});

t.test('from the first promise on it goes on asynchronously, in order', async (t) => {
  const log: string[] = [];
  let release!: (v: Uint8Array) => void;
  const pending = new Promise<Uint8Array>((r) => (release = r));
  const seen: number[] = [];
  function* steps(): Steps<number[]> {
    seen.push((yield b(1))[0]!);
    seen.push((yield pending)[0]!);
    seen.push((yield b(3))[0]!);
    seen.push((yield Promise.resolve(b(4)))[0]!);
    return seen;
  }
  const out = runSteps(steps());
  t.ok(out instanceof Promise);
  t.same(seen, [1], 'stopped at the read the bus could not answer at once');
  release(b(2));
  t.same(await out, [1, 2, 3, 4]);
  t.same(log, []);
});

t.test('a rejected read is thrown into the sequence where it waits', async (t) => {
  const log: string[] = [];
  const out = runSteps(sum([b(1), Promise.reject(new Error('nack')), b(5)], log));
  t.equal(await out, 6, 'the sequence caught it and went on');
  t.same(log, ['caught nack']);
});

t.test('a throw of the sequence itself: thrown at once, or a rejection once asynchronous', async (t) => {
  function* failing(first: Read): Steps<number> {
    yield first;
    throw new Error('implausible');
  }
  t.throws(() => runSteps(failing(b(1))), { message: 'implausible' });
  await t.rejects(runSteps(failing(Promise.resolve(b(1)))) as Promise<number>, { message: 'implausible' });
  // An uncaught rejected read rejects with that error, not one thrown back in twice.
  function* plain(): Steps<number> {
    return (yield Promise.reject(new Error('timeout')))[0]!;
  }
  await t.rejects(runSteps(plain()) as Promise<number>, { message: 'timeout' });
});

t.test('stepsPromise: always a promise, a throw becomes a rejection', async (t) => {
  const p = stepsPromise(sum([b(2)], []));
  t.ok(p instanceof Promise);
  t.equal(await p, 2);
  function* failing(): Steps<number> {
    const bytes = yield b(1);
    throw new Error(`bad ${bytes[0]}`);
  }
  const q = stepsPromise(failing());
  t.ok(q instanceof Promise);
  await t.rejects(q, { message: 'bad 1' });
});
