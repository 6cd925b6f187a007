// `halpi history`: the real halpi against halpid --simulate (a cut and a restore, then the
// summary and --json), and the formatter on its own.
import t from 'tap';
import { spawn } from 'node:child_process';
import { historyText, parseDuration, type HistoryJson } from '../../cli/history.js';
import { colours } from '../../cli/format.js';
import { HALPI, json, startDaemon, type RunningDaemon } from '../helpers/daemon.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function halpi(d: RunningDaemon, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [HALPI, ...args], {
      env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '', TZ: 'UTC', HALPI_SOCKET: d.socket },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    p.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** GET /history until `pred` holds (bounded: 200 tries). */
async function historyUntil(d: RunningDaemon, pred: (h: HistoryJson) => boolean): Promise<HistoryJson> {
  for (let i = 0; i < 200; i++) {
    const h = JSON.parse((await d.req('GET', '/history')).text) as HistoryJson;
    if (pred(h)) return h;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('history condition not reached');
}

t.test(
  "halpi history: after a cut and a restore, --json is the daemon's /history, and the summary lists the blackout",
  async (t) => {
    const d = await startDaemon(['--blackout-time-limit', '30']);
    t.teardown(() => d.stop());
    await historyUntil(d, (h) => h.buckets.t.length >= 2);
    await d.req('POST', '/sim/power', json({ on: false }));
    await historyUntil(d, (h) => h.blackouts.length === 1);
    await d.req('POST', '/sim/power', json({ on: true }));
    await historyUntil(d, (h) => h.blackouts[0]?.outcome === 'power_returned');

    const j = await halpi(d, ['history', '--json']);
    t.equal(j.code, 0, j.stderr);
    const h = JSON.parse(j.stdout) as HistoryJson;
    t.equal(h.step, 1);
    t.equal(h.blackouts.length, 1);
    t.equal(h.blackouts[0]!.outcome, 'power_returned');
    t.ok(h.buckets.blackout.includes(1), 'the blackout is marked in the buckets');

    const human = await halpi(d, ['history']);
    t.equal(human.code, 0, human.stderr);
    t.match(
      human.stdout,
      /^Readings from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d to .* 1 s steps\)\n {2}Input +min \d+\.\d\d V, mean/,
    );
    t.match(human.stdout, /\nPast blackouts \(1\):\n {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +\d+\.\d s {2}power returned/);

    const since = await halpi(d, ['history', '--since', '1s', '--json']);
    t.ok((JSON.parse(since.stdout) as HistoryJson).buckets.t.length <= 2, '--since 1s: the last second or so');
    const bad = await halpi(d, ['history', '--since', 'yesterday']);
    t.equal(bad.code, 2);
    t.match(bad.stderr, 'error: --since: not a duration: "yesterday"');
  },
);

t.test('the summary: ranges, outcomes newest first, and an empty history', async (t) => {
  const plain = colours({}, {}, true);
  const t0 = Date.UTC(2026, 0, 1, 12) / 1000;
  const h: HistoryJson = {
    step: 5,
    now: t0 + 20,
    buckets: {
      t: [t0, t0 + 5, t0 + 10],
      V_in: [12.3, 6, 12.1],
      V_in_min: [12.2, 0, 12],
      V_in_max: [12.4, 12.3, 12.2],
      V_cap: [10.5, 10, null],
      V_cap_min: [10.5, 9.8, null],
      V_cap_max: [10.5, 10.5, null],
      I_in: [0.4, 0.1, null],
      I_in_max: [0.5, 0.4, null],
      T_pcb: [303.15, 304.15, null],
      blackout: [0, 1, 0],
    },
    blackouts: [
      { start: t0 + 6, duration: 2.5, outcome: 'power_returned', min_V_cap: 9.8 },
      { start: t0 + 3600, duration: 75, outcome: 'shutdown', min_V_cap: null },
    ],
  };
  process.env.TZ = 'UTC';
  t.equal(
    historyText(h, plain),
    [
      'Readings from 2026-01-01 12:00:00 to 2026-01-01 12:00:15 (15.0 s, 5 s steps)',
      '  Input       min 0.00 V, mean 10.13 V, max 12.40 V',
      '  Supercap    min 9.80 V, mean 10.25 V, max 10.50 V',
      '  Current     min 0.10 A, mean 0.25 A, max 0.50 A',
      '  Board temp  30.0–31.0 °C',
      '',
      'Past blackouts (2):',
      '  2026-01-01 13:00:00  1 min 15 s  shut down',
      '  2026-01-01 12:00:06       2.5 s  power returned, supercap down to 9.80 V',
      '',
    ].join('\n'),
  );
  const none = { ...h, buckets: { ...h.buckets, t: [] }, blackouts: [] };
  t.equal(historyText(none, plain), 'No readings yet.\n\nNo blackouts since the daemon started.\n');
  t.same(
    [parseDuration('90s'), parseDuration('10m'), parseDuration('2h'), parseDuration('1d'), parseDuration('30')],
    [90, 600, 7200, 86400, 30],
  );
  t.equal(parseDuration('0'), null);
  t.equal(parseDuration('soon'), null);
});
