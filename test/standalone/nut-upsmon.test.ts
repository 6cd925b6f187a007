// upsmon, Debian's real one, as a primary and as a secondary of halpid's NUT server, with the
// upsmon.conf of docs/nut.md: a dip that lasts until both upsmons have seen the power fail shuts
// nobody down; a cut that lasts makes both run their SHUTDOWNCMD (touching a marker file, never a
// real shutdown) before the simulated host is off.
//
// NUT 2.8.0's upsmon always writes its pid file to /run/nut/upsmon.pid (NUT_PIDPATH came later),
// and refuses to start when that file names a live process: each upsmon here runs in a private
// mount namespace with its own /run, so that it neither collides with another upsmon on the
// machine nor overwrites that one's pid file. That needs root (CAP_SYS_ADMIN).
import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { json, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';
import { UPSMON, until } from '../helpers/nut.js';
import { tempDir } from '../helpers/tmp.js';

// A limit no machine reaches, however loaded: the dip ends by hand (on the upsmons' own events),
// and the cut that lasts ends by the supercap running down, as the daemon measures it. (LB from
// the supercap, never from the time limit, is pinned down in test/engine/nut/variables.test.ts.)
const LIMIT_S = 600;
/** A host load that runs the simulated supercap down in about 20 s: LB at once, then halpid's own halt. */
const DRAIN_W = 12;

const namespaces = spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']).status === 0;
const skip =
  !existsSync(UPSMON) && process.env.HALPI2_REQUIRE_NUT !== '1'
    ? 'no upsmon: apt-get install nut-client'
    : !namespaces
      ? 'upsmon needs a private /run/nut here: unshare --mount needs root (CAP_SYS_ADMIN)'
      : false;

interface Upsmon {
  role: 'primary' | 'secondary';
  proc: ChildProcess;
  log: () => string;
  marker: string;
}

let d: RunningDaemon;
const monitors: Upsmon[] = [];
const dir = tempDir('halpi2-upsmon-');
const logs = () =>
  monitors.map((m) => `--- upsmon ${m.role}\n${m.log()}`).join('\n') + `\n--- halpid\n${d?.logs() ?? ''}`;

/** upsmon in the foreground, in its own process group and mount namespace (a fresh /run). */
function startUpsmon(role: 'primary' | 'secondary', port: number): Upsmon {
  const own = join(dir, role);
  mkdirSync(own);
  const marker = join(own, 'shutdown-marker');
  const conf = join(own, 'upsmon.conf');
  // docs/nut.md's example, but for the address and the harmless SHUTDOWNCMD.
  writeFileSync(
    conf,
    [
      `MONITOR halpi2@127.0.0.1:${port} 1 monuser s3cret ${role}`,
      'MINSUPPLIES 1',
      `SHUTDOWNCMD "/usr/bin/touch ${marker}"`,
      'POLLFREQ 2',
      'POLLFREQALERT 1',
      'FINALDELAY 0',
      'DEADTIME 15',
      `POWERDOWNFLAG ${join(own, 'killpower')}`,
      'RUN_AS_USER root',
      '',
    ].join('\n'),
  );
  chmodSync(conf, 0o600);
  const logFile = join(own, 'upsmon.log');
  const out = openSync(logFile, 'w');
  const env = { ...process.env, NUT_CONFPATH: own, NUT_STATEPATH: own, NUT_PIDPATH: own, NUT_ALTPIDPATH: own };
  // Output to a file: pipes would keep this test alive after it ends.
  const proc = spawn(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      'mount -t tmpfs halpi2-upsmon /run && mkdir /run/nut && exec "$@"',
      'sh',
      UPSMON,
      '-F',
      '-D',
      '-u',
      'root',
    ],
    { env, stdio: ['ignore', out, out], detached: true },
  );
  proc.unref();
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  return { role, proc, log, marker };
}

t.before(async () => {
  if (skip) return;
  const port = await freePort();
  const conf = join(dir, 'halpid.conf');
  writeFileSync(conf, 'nut-user: monuser\nnut-password: s3cret\nnut-primary: true\n');
  d = await startDaemon(['-c', conf, '--nut', String(port), '--blackout-time-limit', String(LIMIT_S)]);
  monitors.push(startUpsmon('primary', port), startUpsmon('secondary', port));
  await until('both upsmons logged in', () => (d.logs().match(/NUT login: monuser/g) ?? []).length >= 2, logs);
  await until('both upsmons polling', () => monitors.every((m) => /Logged into UPS/.test(m.log())), logs);
});
t.teardown(async () => {
  for (const m of monitors) {
    if (m.proc.pid && m.proc.exitCode === null) {
      try {
        process.kill(-m.proc.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
  }
  await d?.stop();
});

t.test('a dip both upsmons see, the supercap full: nobody shuts down', { skip }, async (t) => {
  // No load: the supercap does not run down, so neither it nor the limit can end the dip; only
  // the power returning does.
  t.equal((await d.req('PUT', '/sim/host', json({ load_W: 0 }))).status, 204);
  await d.req('POST', '/sim/power', json({ on: false }));
  // The dip lasts until both have seen the power fail (their own event), then the power returns.
  await until('both upsmons saw the power fail', () => monitors.every((m) => /on battery/.test(m.log())), logs);
  await d.req('POST', '/sim/power', json({ on: true }));
  await d.waitLog(/BLACKOUT -> (OK|SHUTDOWN)/);
  t.notMatch(d.logs(), /BLACKOUT -> SHUTDOWN/, 'halpid resumed, without a shutdown');
  await until(
    'both upsmons saw the power return',
    () => monitors.every((m) => /on battery[\s\S]*on line power/.test(m.log())),
    logs,
  );
  for (const m of monitors) {
    t.notOk(existsSync(m.marker), `the ${m.role} ran no shutdown command`);
    t.notMatch(m.log(), /battery is low|forced shutdown/i, `the ${m.role} saw neither LB nor FSD`);
  }
  t.notMatch(d.logs(), /Forced shutdown \(FSD\)/, 'the primary set no FSD');
});

t.test('a cut that lasts: both shut down before the simulated host is off', { skip }, async (t) => {
  t.equal((await d.req('PUT', '/sim/host', json({ load_W: DRAIN_W }))).status, 204);
  await d.req('POST', '/sim/power', json({ on: false }));
  // The supercap, not the limit, ends it: halpid halts while the supercap can still carry the halt.
  const halt = await d.waitLog(/Supercap at \d+\.\d\dV carries the computer .* initiating shutdown/, 120_000);
  await d.waitLog(/BLACKOUT -> SHUTDOWN/);
  // LB came from the supercap (its last LB_RUNTIME_S), before halpid's own halt: the primary had
  // set FSD by then. The daemon's log is one stream: its order is the order of the events.
  const fsd = d.logs().indexOf('Forced shutdown (FSD) set by a NUT primary');
  t.ok(fsd >= 0 && fsd < d.logs().indexOf(halt), 'the primary set FSD on LB, before halpid halted');
  await until('both shutdown markers', () => monitors.every((m) => existsSync(m.marker)), logs);
  const offLine = await d.waitLog(/Simulated host powered off/);
  const off = Date.parse(offLine.split(' ')[0]!);
  t.ok(Number.isFinite(off), `the daemon's line has its time: ${offLine}`);
  for (const m of monitors) {
    const ran = statSync(m.marker).mtimeMs;
    t.ok(ran < off, `the ${m.role} ran SHUTDOWNCMD ${Math.round(off - ran)} ms before the host was off`);
    t.match(m.log(), /forced shutdown in progress|Executing automatic power-fail shutdown/i);
  }
});
