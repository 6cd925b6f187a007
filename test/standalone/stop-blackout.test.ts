// SIGTERM while halpid counts down a blackout (docs/blackout.md, "a stop during a blackout"): the
// daemon as its bin, on the simulator; every wait is for a log line, never for a time.
import t from 'tap';
import { json, startDaemon } from '../helpers/daemon.js';

t.test(
  'SIGTERM mid-countdown: an error line with the seconds left, then the shutdown at the limit, then exit 0',
  async (t) => {
    const d = await startDaemon(['--blackout-time-limit', '3']);
    await d.req('POST', '/sim/power', json({ on: false }));
    await d.waitLog(/Detected blackout/);
    d.proc.kill('SIGTERM');
    const line = await d.waitLog(/Received SIGTERM during a blackout/);
    t.match(
      line,
      /ERROR.*Received SIGTERM during a blackout \(\d\.\ds of 3s, \d\.\ds left\): halpid stays until the power returns or its shutdown has started; send SIGTERM again to exit now/,
    );
    await d.waitLog(/Simulator: not executing true/);
    await d.waitLog(/The blackout shutdown has started: going on with the stop/);
    t.equal(await d.exited, 0);
    const logs = d.logs();
    t.ok(
      logs.indexOf('Blacked out for') < logs.indexOf('Daemon shutdown complete'),
      'the shutdown came first, then the exit',
    );
  },
);

t.test('SIGTERM mid-countdown, then the power returns: a clean stop with the watchdog disarmed', async (t) => {
  const d = await startDaemon(['--blackout-time-limit', '30']);
  await d.req('POST', '/sim/power', json({ on: false }));
  await d.waitLog(/Detected blackout/);
  d.proc.kill('SIGTERM');
  await d.waitLog(/Received SIGTERM during a blackout/);
  t.match((await d.req('GET', '/sim')).text, /"state":"BlackoutCoOp"/, 'still answering while it waits');
  await d.req('POST', '/sim/power', json({ on: true }));
  await d.waitLog(/Power resumed: going on with the stop/);
  t.equal(await d.exited, 0);
  t.match(d.logs(), /Watchdog disabled/);
  t.notMatch(d.logs(), /not executing true/, 'no shutdown');
});

t.test('a second SIGTERM exits at once, and says what that leaves', async (t) => {
  const d = await startDaemon(['--blackout-time-limit', '60']);
  await d.req('POST', '/sim/power', json({ on: false }));
  await d.waitLog(/Detected blackout/);
  d.proc.kill('SIGTERM');
  await d.waitLog(/Received SIGTERM during a blackout/);
  d.proc.kill('SIGTERM');
  t.match(
    await d.waitLog(/Received SIGTERM again/),
    /ERROR.*exiting during a blackout; nothing will shut this computer down cleanly before the supercap runs out/,
  );
  t.equal(await d.exited, 0);
});
