// upsmon, Debian's real one, as a secondary of halpid's NUT server: its SHUTDOWNCMD (touching a
// marker file, never a real shutdown) runs when the simulated blackout reaches the limit, and not
// for a short dip. Needs root (upsmon's pid file under /run/nut) and nut-client.
import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { json, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { tempDir } from '../helpers/tmp.js';
import { freePort } from '../helpers/net.js';

const UPSMON = '/lib/nut/upsmon';
const root = process.getuid?.() === 0;
const skip = !existsSync(UPSMON) && process.env.HALPI2_REQUIRE_NUT !== '1' ? 'no upsmon: apt-get install nut-client'
  : !root ? 'upsmon needs root here (its pid file in /run/nut)' : false;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Wait for a condition that an event outside this process makes true (a log line, a file). */
async function until(what: string, cond: () => boolean, limitMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > limitMs) throw new Error(`${what}: not within ${limitMs} ms\n${upsmonLog()}`);
    await sleep(50);
  }
}

let d: RunningDaemon;
let upsmon: ChildProcess;
const dir = tempDir('halpi2-upsmon-');
const logFile = join(dir, 'upsmon.log');
const upsmonLog = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
const marker = join(dir, 'shutdown-marker');

t.before(async () => {
  if (skip) return;
  const port = await freePort();
  const conf = join(dir, 'halpid.conf');
  writeFileSync(conf, 'nut-user: monuser\nnut-password: s3cret\n');
  d = await startDaemon(['-c', conf, '--nut', String(port), '--blackout-time-limit', '4']);
  const upsmonConf = join(dir, 'upsmon.conf');
  writeFileSync(upsmonConf, [
    `MONITOR halpi2@127.0.0.1:${port} 1 monuser s3cret secondary`,
    'MINSUPPLIES 1', `SHUTDOWNCMD "/usr/bin/touch ${marker}"`, 'POLLFREQ 1', 'POLLFREQALERT 1', 'DEADTIME 10',
    'FINALDELAY 0', 'RUN_AS_USER root', '',
  ].join('\n'));
  chmodSync(upsmonConf, 0o600);
  spawnSync('mkdir', ['-p', '/run/nut']);
  // upsmon runs as two processes: its own process group, its output in a file (pipes would keep
  // this test alive after it ends).
  const log = openSync(logFile, 'w');
  upsmon = spawn(UPSMON, ['-F', '-D', '-u', 'root'], { env: { ...process.env, NUT_CONFPATH: dir, NUT_STATEPATH: dir }, stdio: ['ignore', log, log], detached: true });
  upsmon.unref();
  await until('upsmon logged in', () => upsmonLog().includes('Logged into UPS'));
});
t.teardown(async () => {
  if (upsmon?.pid) {
    try {
      process.kill(-upsmon.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await d?.stop();
});

t.test('a short dip: OB for a moment, upsmon does nothing', { skip }, async (t) => {
  await d.req('POST', '/sim/power', json({ on: false }));
  // Power returns once upsmon has seen the UPS on battery, well before the 4 s limit.
  await until('upsmon saw the blackout', () => /on battery/.test(upsmonLog()));
  await d.req('POST', '/sim/power', json({ on: true }));
  await d.waitLog(/BLACKOUT -> OK/);
  await until('upsmon saw the power return', () => /on line power/.test(upsmonLog()));
  t.notOk(existsSync(marker), 'no shutdown command');
});

t.test('a blackout that reaches the limit: upsmon runs its shutdown command', { skip }, async (t) => {
  await d.req('POST', '/sim/power', json({ on: false }));
  await d.waitLog(/BLACKOUT -> SHUTDOWN/);
  await until('the shutdown marker', () => existsSync(marker));
  t.ok(existsSync(marker), 'SHUTDOWNCMD ran');
  t.match(upsmonLog(), /forced shutdown in progress/);
});
