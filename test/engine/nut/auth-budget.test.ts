// The failed-login budget of the NUT server (engine/nut/auth-budget.ts, docs/nut.md): AUTH_BURST
// failures, then one more every AUTH_REFILL_MS; each failure logged while the budget lasts, then
// one line per attack. The server's side of it is in server-limits.test.ts.
import t from 'tap';
import { AUTH_BURST, AUTH_REFILL_MS, AuthBudget } from '../../../engine/nut/auth-budget.js';

const LOCK_LINE = 'NUT logins refused for a while: more than 10 failed (one more allowed every 6 s)';

function budget() {
  let now = 1_000_000;
  const b = new AuthBudget({ now: () => now });
  return { b, advance: (ms: number) => void (now += ms) };
}

/** Spend the whole budget; returns the lines logged. */
const spend = (b: AuthBudget, n = AUTH_BURST) => Array.from({ length: n }, (_, i) => b.fail(`u${i}`, '10.0.0.1'));

t.test('AUTH_BURST failures are each logged, then one lock-out line, then silence', async (t) => {
  t.equal(AUTH_BURST, 10);
  t.equal(AUTH_REFILL_MS, 6000);
  const { b } = budget();
  for (let i = 0; i < AUTH_BURST; i++) {
    t.equal(b.locked(), false, `not locked after ${i} failures`);
    t.equal(b.fail('upsmon', '192.0.2.7'), 'NUT login refused: user "upsmon" from 192.0.2.7');
  }
  t.equal(b.locked(), true, 'locked after AUTH_BURST failures');
  t.equal(b.fail('upsmon', '192.0.2.7'), LOCK_LINE);
  t.equal(b.fail('upsmon', '192.0.2.7'), null, 'the lock-out is said once');
  t.equal(b.fail('x', '192.0.2.8'), null);
  t.equal(b.locked(), true);
});

t.test('the user name is quoted as JSON, so a name cannot forge a log line', async (t) => {
  const { b } = budget();
  t.equal(b.fail('a"b\nNUT login: root', '::1'), 'NUT login refused: user "a\\"b\\nNUT login: root" from ::1');
});

t.test('one more failure allowed every AUTH_REFILL_MS, not sooner', async (t) => {
  const { b, advance } = budget();
  spend(b);
  t.equal(b.fail('u', 'a'), LOCK_LINE);
  advance(AUTH_REFILL_MS - 1);
  t.equal(b.locked(), true, 'still locked 1 ms before the refill');
  advance(1);
  t.equal(b.locked(), false, 'one failure allowed after AUTH_REFILL_MS');
  t.equal(b.fail('u', 'a'), 'NUT login refused: user "u" from a', 'and it is logged');
  t.equal(b.locked(), true, 'then locked again');
  t.equal(b.fail('u', 'a'), null, 'the same attack: no second lock-out line');
});

t.test('the time since the last look counts once, not again at each look', async (t) => {
  const { b, advance } = budget();
  spend(b);
  for (let s = 1; s < AUTH_REFILL_MS / 1000; s++) {
    advance(1000);
    t.equal(b.locked(), true, `still locked after ${s} s`);
  }
  advance(1001);
  t.equal(b.locked(), false, 'one failure allowed once AUTH_REFILL_MS have passed in all');
});

t.test('a full budget after a quiet spell: a new attack gets its own lock-out line', async (t) => {
  const { b, advance } = budget();
  spend(b);
  t.equal(b.fail('u', 'a'), LOCK_LINE);
  advance((AUTH_BURST - 1) * AUTH_REFILL_MS);
  t.equal(b.locked(), false, 'nine refilled');
  t.equal(spend(b, AUTH_BURST - 1).filter((l) => l?.startsWith('NUT login refused:')).length, AUTH_BURST - 1);
  t.equal(b.fail('u', 'a'), null, 'not full in between: the same attack, no new lock-out line');
  advance(AUTH_BURST * AUTH_REFILL_MS);
  t.equal(b.locked(), false);
  spend(b);
  t.equal(b.fail('u', 'a'), LOCK_LINE, 'a new attack is said again');
});

t.test('the budget never holds more than AUTH_BURST, however long the quiet', async (t) => {
  const { b, advance } = budget();
  advance(1000 * AUTH_REFILL_MS);
  const lines = spend(b, AUTH_BURST + 1);
  t.equal(lines.filter((l) => l?.startsWith('NUT login refused:')).length, AUTH_BURST);
  t.equal(lines.at(-1), LOCK_LINE);
  t.equal(b.locked(), true);
});
