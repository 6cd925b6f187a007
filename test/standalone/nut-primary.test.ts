// nut-primary through the real halpid: with it, the NUT user may claim PRIMARY and set FSD, which
// ups.status then shows; without it (the default), the same user is a secondary and both are
// refused. Plain NUT protocol over TCP, no NUT tools needed.
import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';
import { nutClient } from '../helpers/nut-client.js';
import { tempDir } from '../helpers/tmp.js';

async function halpidWithNut(t: Test, primary: boolean | undefined) {
  const dir = tempDir('halpid-nutprimary-');
  const conf = join(dir, 'halpid.conf');
  writeFileSync(
    conf,
    `nut-user: mon\nnut-password: s3cret\n${primary === undefined ? '' : `nut-primary: ${primary}\n`}`,
  );
  const port = await freePort();
  const d = await startDaemon(['-c', conf, '--nut', `127.0.0.1:${port}`]);
  t.teardown(() => d.stop());
  const c = nutClient(port);
  t.teardown(() => c.sock.destroy());
  await c.connected();
  return { d, c };
}

t.test('nut-primary: true — PRIMARY granted, FSD set, ups.status says FSD', async (t) => {
  const { d, c } = await halpidWithNut(t, true);
  c.send('USERNAME mon\nPASSWORD s3cret\nLOGIN halpi2\nPRIMARY halpi2\nFSD halpi2\nGET VAR halpi2 ups.status\n');
  t.same(await c.lines(6), ['OK', 'OK', 'OK', 'OK PRIMARY-GRANTED', 'OK FSD-SET', 'VAR halpi2 ups.status "FSD OL"']);
  t.match(await d.waitLog(/Forced shutdown \(FSD\)/), /set by a NUT primary/, 'and the daemon logs it');
});

t.test('nut-primary unset (false): the same user is a secondary — PRIMARY and FSD refused, nothing set', async (t) => {
  for (const primary of [undefined, false]) {
    const { c } = await halpidWithNut(t, primary);
    c.send('USERNAME mon\nPASSWORD s3cret\nLOGIN halpi2\nPRIMARY halpi2\nFSD halpi2\nGET VAR halpi2 ups.status\n');
    t.same(
      await c.lines(6),
      ['OK', 'OK', 'OK', 'ERR ACCESS-DENIED', 'ERR ACCESS-DENIED', 'VAR halpi2 ups.status "OL"'],
      `nut-primary ${primary ?? 'not set'}`,
    );
  }
});
