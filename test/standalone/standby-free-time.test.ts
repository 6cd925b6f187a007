// Free-text standby times: the daemon takes them in dialect 4 (as halpid 4.0.7 did), and halpi
// turns them into an absolute time itself, so they work against every daemon. Local time is
// Europe/Helsinki in the daemon, in halpi and here.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { HALPI, json, startDaemon, type RunningDaemon } from '../helpers/daemon.js';

process.env.TZ = 'Europe/Helsinki';
const TZ = { TZ: 'Europe/Helsinki' };
const rtcAlarm = async (d: RunningDaemon) =>
  (JSON.parse((await d.req('GET', '/sim')).text) as { host: { rtc_alarm: number | null } }).host.rtc_alarm;

/** What "tomorrow 6am" means now, here. */
const tomorrow6 = () => {
  const d = new Date();
  d.setDate(d.getDate() + 1);
  d.setHours(6, 0, 0, 0);
  return Math.floor(d.getTime() / 1000);
};

t.test('dialect 4: "tomorrow 6am" and "in 2 hours" are taken; nonsense and the past are 400', async (t) => {
  const d = await startDaemon(['--api-compat', '4'], TZ);
  t.teardown(() => d.stop());
  const bad = await d.req('POST', '/standby', json({ datetime: 'whenever suits' }));
  t.equal(`${bad.status} ${bad.text}`, '400 Invalid datetime format', "halpid 4.0.7's words");
  const past = await d.req('POST', '/standby', json({ datetime: 'yesterday 6am' }));
  t.equal(`${past.status} ${past.text}`, '400 datetime must be in the future');
  t.equal(await rtcAlarm(d), null, 'nothing set yet');
  const expected = tomorrow6();
  const r = await d.req('POST', '/standby', json({ datetime: 'tomorrow 6am' }));
  t.equal(r.status, 204, r.text);
  t.equal(await rtcAlarm(d), expected, 'the RTC alarm is tomorrow 06:00 local time');
  t.match(d.logs(), /Standby requested over the API, wake-up at \d{4}-\d\d-\d\dT06:00:00\+0[23]:00/);
});

t.test("dialect 4: delay as Python's int() takes it, and 4.0.7's errors", async (t) => {
  const d = await startDaemon(['--api-compat', '4', '--dry-run'], TZ);
  t.teardown(() => d.stop());
  for (const [delay, ok] of [
    [60, true],
    [60.9, true],
    ['120', true],
    [' 7 ', true],
    [true, true],
    ['60.5', false],
    ['soon', false],
    [null, false],
    [-5, false],
  ] as const) {
    const r = await d.req('POST', '/standby', json({ delay }));
    const expected = ok ? '204 ' : delay === -5 ? '400 delay must be positive' : '400 delay must be an integer';
    t.equal(`${r.status} ${r.text}`, expected, JSON.stringify(delay));
  }
  t.match(
    d.logs(),
    /Dry run: would set the wake-up alarm to .* request standby/,
    'accepted ones reach the standby action',
  );
  const both = await d.req('POST', '/standby', json({ delay: 'x', datetime: 'in 1 hour' }));
  t.equal(both.status, 204, 'datetime wins over delay, as in 4.0.7');
  const far = await d.req('POST', '/standby', json({ datetime: '9999-12-31 23:59:59' }));
  t.equal(`${far.status} ${far.text}`, '400 datetime must be at most 366 days ahead', 'no standby until the year 9999');
  const free = await d.req('POST', '/standby', json({ datetime: 'in 400 days' }));
  t.equal(`${free.status} ${free.text}`, '400 datetime must be at most 366 days ahead', 'free text too');
  const long = await d.req('POST', '/standby', json({ delay: 4294967295 }));
  t.equal(`${long.status} ${long.text}`, '400 delay must be at most 31622400 (366 days)');
  // 4.0.7 failed with a 500 on an offset (aware against naive time): a 400 that says why.
  for (const datetime of ['2030-01-01T06:00:00+02:00', '2030-01-01T06:00:00Z']) {
    const off = await d.req('POST', '/standby', json({ datetime }));
    t.equal(
      `${off.status} ${off.text}`,
      '400 Invalid datetime format: give local time, without Z or a UTC offset',
      datetime,
    );
  }
});

t.test(
  'halpi shutdown --standby --time "tomorrow 6am" against dialect 4: sent as naive local time, which it takes',
  async (t) => {
    const d = await startDaemon(['--api-compat', '4'], TZ);
    t.teardown(() => d.stop());
    const expected = tomorrow6();
    const r = spawnSync(process.execPath, [HALPI, '-s', d.socket, 'shutdown', '--standby', '--time', 'tomorrow 6am'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '', ...TZ },
    });
    t.equal(r.status, 0, r.stderr);
    t.equal(await rtcAlarm(d), expected);
  },
);

t.test('dialect 5 keeps refusing free text (halpid 5.0.2 did)', async (t) => {
  const d = await startDaemon([], TZ);
  t.teardown(() => d.stop());
  const r = await d.req('POST', '/standby', json({ datetime: 'tomorrow 6am' }));
  t.equal(r.status, 400);
  t.match(r.text, /Could not parse datetime: tomorrow 6am/);
});

t.test(
  'halpi shutdown --standby --time "tomorrow 6am" against dialect 5: parsed by halpi, echoed, sent as an absolute time',
  async (t) => {
    const d = await startDaemon([], TZ);
    t.teardown(() => d.stop());
    const expected = tomorrow6();
    const r = spawnSync(process.execPath, [HALPI, '-s', d.socket, 'shutdown', '--standby', '--time', 'tomorrow 6am'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '', ...TZ },
    });
    t.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    t.match(lines[0], /^Wake-up time: \d{4}-\d\d-\d\dT06:00:00\+0[23]:00$/);
    t.equal(lines[1], `Standby requested with wakeup at ${lines[0]!.slice('Wake-up time: '.length)}`);
    t.equal(await rtcAlarm(d), expected);
    const bad = spawnSync(process.execPath, [HALPI, '-s', d.socket, 'shutdown', '--standby', '--time', 'whenever'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '', ...TZ },
    });
    t.equal(bad.status, 2);
    t.match(bad.stderr, /^error: --time: cannot understand "whenever"/);
  },
);
