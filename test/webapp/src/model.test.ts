// The blackout timer's deadline (webapp/src/model.ts steadyDeadline): steady, never later than
// the freshest count says.
import t from 'tap';
import {
  countLeft,
  countSeen,
  daemonTone,
  EMPTY,
  fixed,
  kelvinToCelsius,
  stateTone,
  steadyDeadline,
  WriteError,
} from '../../../webapp/src/model.js';

t.test('a count that arrived late does not hold the deadline back', async (t) => {
  // Read 4.5 s before the shutdown at 10 000, but delivered 800 ms late: 10 800.
  let d = steadyDeadline(null, 10_800);
  t.equal(d, 10_800);
  // The next count arrives fresh: the timer moves to the true deadline.
  d = steadyDeadline(d, 10_050);
  t.equal(d, 10_050);
  // A later, staler one does not move it back up.
  d = steadyDeadline(d, 10_700);
  t.equal(d, 10_050, 'the timer never steps back up within a second');
  // One delivered 2.5 s late on a busy server (seen under load: the timer went 5 4 3 2 1 2 1 0).
  d = steadyDeadline(d, 12_550);
  t.equal(d, 10_050, 'nor for a count 2.5 s late');
});

t.test('a deadline further off is a new one; no count, no deadline', async (t) => {
  t.equal(steadyDeadline(10_000, 25_000), 25_000, 'a new blackout');
  t.equal(steadyDeadline(10_000, 13_000), 13_000, 'a new blackout 3 s after the last deadline');
  t.equal(steadyDeadline(10_000, 7_000), 7_000, 'the supercap will not last: sooner');
  t.equal(steadyDeadline(10_000, null), null);
  t.equal(steadyDeadline(null, 10_000), 10_000);
  t.equal(steadyDeadline(null, 2_000), 2_000, 'the first count is the deadline');
  t.equal(steadyDeadline(10_000, 12_999), 10_000, 'just under 3 s later: the earlier holds');
  t.equal(steadyDeadline(10_000, 9_999), 9_999, 'a moment sooner: the sooner');
});

t.test('the runtime left runs down between two counts, as the timer does', async (t) => {
  // 2 s left, received at 1 000 ms: 700 ms later 1.3 s are left (shown "2", not a stale "2" a second on).
  let seen = countSeen(null, 2, 1_000);
  t.equal(countLeft(seen, 1_700), 1.3);
  t.equal(countLeft(seen, 2_500), 0.5, 'a second and a half on, with no new count');
  t.equal(countLeft(seen, 9_000), 0, 'never below 0');
  // The same count again keeps its time; a new one starts again.
  t.equal(countSeen(seen, 2, 1_900), seen);
  seen = countSeen(seen, 1.1, 2_000);
  t.equal(countLeft(seen, 2_000), 1.1);
  t.equal(countSeen(seen, null, 2_100), null, 'no count, nothing shown');
});

t.test('the colours of the controller and daemon states, as halpi status has them', async (t) => {
  t.equal(stateTone('OperationalCoOp'), 'ok');
  for (const s of ['OperationalSolo', 'SystemStartup', 'OffCharging', 'EnteringStandby', 'Standby'])
    t.equal(stateTone(s), 'caution', s);
  for (const s of ['BlackoutSolo', 'BlackoutShutdown', 'ManualShutdown', 'PoweredDownBlackout'])
    t.equal(stateTone(s), 'danger', s);
  t.equal(stateTone(null), 'unknown');
  t.equal(stateTone(''), 'unknown');
  t.equal(daemonTone('OK'), 'ok');
  t.equal(daemonTone('START'), 'caution');
  for (const s of ['BLACKOUT', 'SHUTDOWN', 'DEAD']) t.equal(daemonTone(s), 'danger', s);
  t.equal(daemonTone(null), 'unknown');
  t.equal(daemonTone(''), 'unknown');
});

t.test('numbers as shown: fixed digits, a dash for what is unknown or not a number', async (t) => {
  t.equal(fixed(12.345, 2), '12.35');
  t.equal(fixed(0, 1), '0.0');
  t.equal(fixed(null, 1), '—');
  t.equal(fixed(NaN, 1), '—');
  t.equal(fixed(Infinity, 1), '—');
  t.equal(fixed(kelvinToCelsius(307.15), 1), '34.0');
  t.equal(kelvinToCelsius(null), null);
});

t.test('a panel just opened knows nothing: no values, no blackout, no alerts', async (t) => {
  t.equal(EMPTY.shuttingDown, false);
  t.equal(EMPTY.simulator, false);
  t.same(EMPTY.alerts, []);
  t.same(
    Object.entries(EMPTY).filter(([, v]) => v !== null && v !== false && !(Array.isArray(v) && v.length === 0)),
    [],
  );
});

t.test("a refused write carries the server's message and status", async (t) => {
  const e = new WriteError('Log in to change settings', 403);
  t.equal(e.message, 'Log in to change settings');
  t.equal(e.status, 403);
  t.ok(e instanceof Error);
});
