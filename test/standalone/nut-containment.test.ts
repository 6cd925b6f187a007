// halpid --nut against hostile NUT clients, as the bin ships (its 32 MB heap): a 17th client that
// resets before reading its refusal, three times in a row, leaves the daemon alive, serving,
// counting the failures in /metrics, and stopping cleanly.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';
import { nutClient } from '../helpers/nut-client.js';
import { tempDir } from '../helpers/tmp.js';

const refusedCount = (metrics: string): number =>
  Number(/^halpi_face_errors_total\{face="nut",kind="refused"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);

t.test('the 17th NUT connection reset three times in a row: the daemon lives on', async (t) => {
  const port = await freePort();
  const conf = join(tempDir('halpid-nut-'), 'halpid.conf');
  writeFileSync(conf, 'nut-user: mon\nnut-password: secret\n');
  const d = await startDaemon(['-c', conf, '--nut', `127.0.0.1:${port}`]);
  t.teardown(() => d.stop());
  // Logged-in clients in every slot: the only case where a newcomer is refused, not let in.
  // One at a time: clients not yet logged in beyond 12 would push the quietest out.
  const cs = [];
  for (let i = 0; i < 16; i++) {
    const c = nutClient(port);
    c.send('USERNAME mon\nPASSWORD secret\nLOGIN halpi2\n');
    t.same(await c.lines(3), ['OK', 'OK', 'OK']);
    cs.push(c);
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
  t.equal((await cs[0]!.lines(4))[3], 'VAR halpi2 device.model "HALPI2"', 'still serving NUT');
  t.match(d.logs(), /NUT login: mon from 127\.0\.0\.1/);
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
  for (let i = 0; i < 50; i++) t.equal(await ask(), 'VAR halpi2 device.model "HALPI2"', { diagnostic: false });
  const after = rss();
  t.ok(after - before < 16 * 1024 * 1024, `RSS grew by ${((after - before) / 1048576).toFixed(1)} MiB`);
  t.equal(d.proc.exitCode, null, 'still running');
  flood.sock.destroy();
  other.sock.destroy();
  t.equal(await d.stop(), 0, 'a clean stop');
});
