// npm run bench: how fast and how small halpid and halpi are, as medians of several runs and as
// ratios against a floor measured in the same run (a bare node:http server on a Unix socket, or
// `node -e 0`). Not part of CI's pass/fail. NODE_EXTRA_CA_CERTS is unset for every Node process
// (it adds ~50 ms to each start). Prints one Markdown table; `--write` also stores it, with the
// machine and the date, in bench/RESULTS.md.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HALPID = join(ROOT, 'dist/bin/halpid.mjs');
const HALPI = join(ROOT, 'dist/bin/halpi.mjs');
const ENV: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '', DEBUG: '', JOURNAL_STREAM: '' };
delete ENV.NODE_EXTRA_CA_CERTS;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** halpid as it ships: with the V8 flags of its first line. */
const HALPID_FLAGS = (/^#!\/usr\/bin\/env -S node (.*)$/.exec(readFileSync(HALPID, 'utf8').split('\n')[0] ?? '')?.[1] ?? '').split(' ').filter(Boolean);
const work = mkdtempSync(join(tmpdir(), 'halpi2-bench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- the floor: a bare node:http server on a Unix socket -----------------------------------------

const FLOOR = join(work, 'floor.mjs');
writeFileSync(FLOOR, `
import { createServer } from 'node:http';
const body = JSON.stringify({ V_in: 12.2, V_cap: 10.1, I_in: 0.35, T_mcu: 307.9, T_pcb: 303.6, state: 'OperationalCoOp' });
createServer((req, res) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end(body); }).listen(process.argv[2]);
process.on('SIGTERM', () => process.exit(0));
`);

interface Server { proc: ChildProcess; socket: string; log: () => string }

function get(socket: string, path: string, agent?: Agent): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, agent: agent ?? false, headers: { Host: 'localhost' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Start a server and resolve when its socket answers; returns the time from exec to that. */
async function start(kind: 'floor' | 'halpid', extra: string[] = []): Promise<{ server: Server; ms: number }> {
  const socket = join(work, `${kind}-${Math.random().toString(36).slice(2)}.sock`);
  const args = kind === 'floor' ? [FLOOR, socket]
    : [...HALPID_FLAGS, HALPID, '--simulate', '--socket', socket, '--socket-group', String(process.getgid?.() ?? 0), '--poweroff', 'true', ...extra];
  const t0 = performance.now();
  const proc = spawn(process.execPath, args, { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  proc.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  for (;;) {
    try {
      if ((await get(socket, '/')).status === 200) break;
    } catch {
      // not yet
    }
    if (proc.exitCode !== null) throw new Error(`${kind} exited:\n${out}`);
    await sleep(1);
  }
  return { server: { proc, socket, log: () => out }, ms: performance.now() - t0 };
}

async function stop(s: Server): Promise<number> {
  const t0 = performance.now();
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  await exited;
  return performance.now() - t0;
}

function status(pid: number): { rss: number; hwm: number; cpuTicks: number } {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(st)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024, cpuTicks: Number(stat[11]) + Number(stat[12]) };
}

async function load(socket: string, n: number, clients: number, path = '/values'): Promise<{ latencies: number[]; seconds: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    while (next < n) {
      next++;
      const a = performance.now();
      await get(socket, path, agent);
      latencies.push(performance.now() - a);
    }
  }));
  agent.destroy();
  return { latencies, seconds: (performance.now() - t0) / 1000 };
}

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]!;

function timeCmd(args: string[]): number {
  const t0 = performance.now();
  spawnSync(process.execPath, args, { env: ENV, stdio: 'ignore' });
  return performance.now() - t0;
}

async function transactions(socket: string): Promise<number> {
  const m = (await get(socket, '/metrics')).text;
  let total = 0;
  for (const line of m.split('\n')) if (line.startsWith('halpi_i2c_transactions_total')) total += Number(line.split(' ').at(-1));
  return total;
}

// --- the measurements ------------------------------------------------------------------------------

interface Row { metric: string; floor: string; ours: string; ratio: string; goal: string; met: boolean | null }
const rows: Row[] = [];
const fmt = (x: number, d = 1) => x.toFixed(d);
const add = (metric: string, floor: number | null, ours: number, unit: string, goal: string, met: boolean | null, d = 1) =>
  rows.push({
    metric, floor: floor === null ? '–' : `${fmt(floor, d)} ${unit}`, ours: `${fmt(ours, d)} ${unit}`,
    ratio: floor ? `${(ours / floor).toFixed(2)}×` : '–', goal, met,
  });

async function main(): Promise<void> {
  // Start time (median of RUNS), with the servers of the last run kept for the load figures.
  const floorStarts: number[] = [];
  const oursStarts: number[] = [];
  const stops: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const f = await start('floor');
    floorStarts.push(f.ms);
    await stop(f.server);
    const o = await start('halpid');
    oursStarts.push(o.ms);
    stops.push(await stop(o.server));
  }
  const fs = median(floorStarts);
  const os = median(oursStarts);
  add('exec → socket answering', fs, os, 'ms', '≤ 2.5× floor', os <= 2.5 * fs, 0);

  const floor = (await start('floor')).server;
  const ours = (await start('halpid')).server;
  await sleep(1000);
  const floorRssStart = status(floor.proc.pid!).rss;
  const oursRssStart = status(ours.proc.pid!).rss;
  add('RSS after start', floorRssStart, oursRssStart, 'MiB', '≤ 48 MiB', oursRssStart <= 48);

  // Latency, 1 client.
  const fl = await load(floor.socket, 2000, 1, '/');
  const ol = await load(ours.socket, 2000, 1);
  add('GET /values p99, 1 client', p99(fl.latencies), p99(ol.latencies), 'ms', '< 1 ms', p99(ol.latencies) < 1, 2);

  // Throughput, 4 keep-alive clients.
  const ft = await load(floor.socket, 4000, 4, '/');
  const tx0 = await transactions(ours.socket);
  const ot = await load(ours.socket, 4000, 4);
  const tx1 = await transactions(ours.socket);
  add('throughput, 4 keep-alive clients', 4000 / ft.seconds, 4000 / ot.seconds, 'req/s', 'report', null, 0);
  add('bus transactions per GET /values, 4 clients', null, (tx1 - tx0) / 4000, '', 'report', null, 2);
  const t8a = await transactions(ours.socket);
  await load(ours.socket, 2000, 8);
  add('bus transactions per GET /values, 8 clients', null, ((await transactions(ours.socket)) - t8a) / 2000, '', 'report', null, 2);
  const t1a = await transactions(ours.socket);
  await load(ours.socket, 1000, 1);
  add('bus transactions per GET /values, 1 client', null, ((await transactions(ours.socket)) - t1a) / 1000, '', 'report', null, 2);

  // 10,000 requests in all, then RSS and its peak.
  await load(ours.socket, 1000, 1);
  await load(floor.socket, 4000, 1, '/');
  const fAfter = status(floor.proc.pid!);
  const oAfter = status(ours.proc.pid!);
  add('RSS after 10,000 GET /values', fAfter.rss, oAfter.rss, 'MiB', '≤ 48 MiB', oAfter.rss <= 48);
  add('RSS peak', fAfter.hwm, oAfter.hwm, 'MiB', '≤ 48 MiB', oAfter.hwm <= 48);

  // Idle: bus traffic and CPU over 15 s, once the load's garbage has been collected.
  const idleS = Number(process.env.BENCH_IDLE_S ?? 15);
  await sleep(3000);
  const txA = await transactions(ours.socket);
  const cpuA = status(ours.proc.pid!).cpuTicks;
  const fcpuA = status(floor.proc.pid!).cpuTicks;
  await sleep(idleS * 1000);
  const txB = await transactions(ours.socket);
  const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
  const cpu = ((status(ours.proc.pid!).cpuTicks - cpuA) / hz / idleS) * 100;
  const fcpu = ((status(floor.proc.pid!).cpuTicks - fcpuA) / hz / idleS) * 100;
  add('bus transactions per second, idle (simulator)', null, (txB - txA - 2) / idleS, '/s', '≤ 12 /s', (txB - txA - 2) / idleS <= 12);
  add('idle CPU (simulator)', fcpu, cpu, '% of a core', '< 0.5 %', cpu < 0.5, 2);
  await stop(floor);
  await stop(ours);
  // The same tick on a fixed-register fake bus: what a real controller costs, without physics.
  const fake = spawn(process.execPath, [...HALPID_FLAGS, join(ROOT, 'dist/bench/idle-fake-bus.js')], { env: ENV, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((r) => fake.stdout!.once('data', () => r()));
  await sleep(1000);
  const fakeA = status(fake.pid!).cpuTicks;
  await sleep(idleS * 1000);
  const fakeCpu = ((status(fake.pid!).cpuTicks - fakeA) / hz / idleS) * 100;
  fake.kill('SIGTERM');
  add('idle CPU (engine on a fixed-register bus)', fcpu, fakeCpu, '% of a core', '< 0.5 %', fakeCpu < 0.5, 2);

  // Blackout → poweroff on the real clock, with a 1 s limit.
  const delays: number[] = [];
  for (let i = 0; i < Math.min(RUNS, 3); i++) {
    const s = (await start('halpid', ['--blackout-time-limit', '1'])).server;
    while (!(await get(s.socket, '/sim')).text.includes('"state":"OperationalCoOp"')) await sleep(10);
    const cutAt = performance.now();
    await new Promise<void>((resolve, reject) => {
      const req = request({ socketPath: s.socket, method: 'POST', path: '/sim/power', headers: { Host: 'localhost', 'Content-Type': 'application/json' } }, (res) => { res.resume(); res.on('end', () => resolve()); });
      req.on('error', reject);
      req.end('{"on":false}');
    });
    while (!s.log().includes('Simulator: not executing')) await sleep(1);
    delays.push(performance.now() - cutAt - 1000);
    await stop(s);
  }
  add('blackout → poweroff beyond the limit (real clock)', null, median(delays), 'ms', '≤ 200 ms (two ticks)', median(delays) <= 200, 0);
  add('SIGTERM → exit', null, median(stops), 'ms', 'report', null, 0);

  // The commands.
  const nodeE = median(Array.from({ length: RUNS * 2 }, () => timeCmd(['-e', '0'])));
  const s = (await start('halpid')).server;
  const halpiStatus = median(Array.from({ length: RUNS * 2 }, () => timeCmd([HALPI, '-s', s.socket, 'status'])));
  await stop(s);
  const version = median(Array.from({ length: RUNS * 2 }, () => timeCmd([...HALPID_FLAGS, HALPID, '--version'])));
  add('halpi status', nodeE, halpiStatus, 'ms', '≤ 2.5× node -e 0', halpiStatus <= 2.5 * nodeE, 0);
  add('halpid --version', nodeE, version, 'ms', '≤ 2× node -e 0', version <= 2 * nodeE, 0);

  const table = [
    '| metric | floor | ours | ratio | goal | met |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.metric} | ${r.floor} | ${r.ours} | ${r.ratio} | ${r.goal} | ${r.met === null ? '–' : r.met ? 'yes' : '**no**'} |`),
  ].join('\n');
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${RUNS} runs`;
  console.log(`${table}\n\n${new Date().toISOString()} — ${machine}`);
  if (process.argv.includes('--write')) {
    const path = join(ROOT, 'bench', 'RESULTS.md');
    const old = (() => { try { return readFileSync(path, 'utf8'); } catch { return ''; } })();
    const notes = /<!-- notes -->[\s\S]*$/.exec(old)?.[0] ?? '<!-- notes -->\n';
    writeFileSync(path, `# Benchmark results\n\n${new Date().toISOString().slice(0, 10)}, ${machine}.\n\n${table}\n\n${notes}`);
  }
}

void main().then(() => process.exit(0), (err: Error) => {
  console.error(err.stack);
  process.exit(1);
});
