// halpid --nut against hostile NUT clients, as the bin ships (its 32 MB heap): a 17th client that
// resets before reading its refusal, three times in a row, leaves the daemon alive, serving,
// counting the failures in /metrics, and stopping cleanly.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { startDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';
import { nutClient } from '../helpers/nut-client.js';

const refusedCount = (metrics: string): number =>
  Number(/^halpi_face_errors_total\{face="nut",kind="refused"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);

t.test('the 17th NUT connection reset three times in a row: the daemon lives on', async (t) => {
  const port = await freePort();
  const d = await startDaemon(['--nut', `127.0.0.1:${port}`]);
  t.teardown(() => d.stop());
  const cs = Array.from({ length: 16 }, () => nutClient(port));
  for (const c of cs) {
    c.send('NETVER\n');
    t.same(await c.lines(1), ['1.3']);
  }
  for (let round = 1; round <= 3; round++) {
    const c = nutClient(port);
    await c.connected();
    c.sock.resetAndDestroy(); // SO_LINGER 0
    // The refusal is counted once the daemon has accepted (and refused) the connection.
    let n = 0;
    for (let i = 0; i < 200 && n < round; i++) n = refusedCount((await d.req('GET', '/metrics')).text);
    t.equal(n, round, `refusal ${round} counted`);
  }
  t.equal(d.proc.exitCode, null, 'still running');
  cs[0]!.send('GET VAR halpi2 device.model\n');
  t.same(await cs[0]!.lines(2), ['1.3', 'VAR halpi2 device.model "HALPI2"'], 'still serving NUT');
  t.notMatch(d.logs(), /Uncaught/);
  for (const c of cs) c.sock.destroy();
  t.equal(await d.stop(), 0, 'a clean stop');
});

t.test('a NUT client that pipelines 6 MB of LIST VAR without reading: the daemon lives, RSS bounded', async (t) => {
  const port = await freePort();
  const d = await startDaemon(['--nut', `127.0.0.1:${port}`]);
  t.teardown(() => d.stop());
  const rss = () => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${d.proc.pid}/status`, 'utf8'))![1]) * 1024;
  const other = nutClient(port);
  let said = 0;
  const ask = async () => {
    other.send('GET VAR halpi2 device.model\n');
    return (await other.lines(++said)).at(-1);
  };
  t.equal(await ask(), 'VAR halpi2 device.model "HALPI2"');
  const before = rss();
  const flood = nutClient(port);
  await flood.connected();
  flood.sock.pause(); // never reads
  // Before the fix the bin's 32 MB heap ran out after about 6 MB sent.
  for (let i = 0; i < 6; i++) flood.send('LIST VAR halpi2\n'.repeat(65_536));
  // Meanwhile the daemon answers others, again and again.
  for (let i = 0; i < 50; i++) t.equal(await ask(), 'VAR halpi2 device.model "HALPI2"', undefined, { diagnostic: false });
  const after = rss();
  t.ok(after - before < 16 * 1024 * 1024, `RSS grew by ${((after - before) / 1048576).toFixed(1)} MiB`);
  t.equal(d.proc.exitCode, null, 'still running');
  flood.sock.destroy();
  other.sock.destroy();
  t.equal(await d.stop(), 0, 'a clean stop');
});
