// halpi's socket discovery and connection-error advice (docs/cli.md, and the newcomer's
// path: a bare `halpi` finds `halpid --simulate`), with the file system injected.
import t from 'tap';
import { connectionError, resolveSocket } from '../../cli/client.js';
import { DEFAULT_SOCKET, LEGACY_SOCKET, SYSTEMD_UNITS } from '../../engine/paths.js';

const env = { XDG_RUNTIME_DIR: '/run/user/1000' };
const SIM = '/run/user/1000/halpid/halpid.sock';
const only =
  (...paths: string[]) =>
  (p: import('node:fs').PathLike) =>
    paths.includes(String(p));

t.test('first match wins: flag, variable, /run/halpid, /run (4.x), the simulator path', async (t) => {
  const all = only(DEFAULT_SOCKET, LEGACY_SOCKET, SIM);
  t.same(resolveSocket('/x.sock', { ...env, HALPI_SOCKET: '/y.sock' }, all), { path: '/x.sock', tried: [] });
  t.same(resolveSocket(undefined, { ...env, HALPI_SOCKET: '/y.sock' }, all), { path: '/y.sock', tried: [] });
  t.equal(
    resolveSocket(undefined, { ...env, HALPI_SOCKET: '' }, all).path,
    DEFAULT_SOCKET,
    'an empty variable counts as unset',
  );
  t.equal(resolveSocket(undefined, env, only(LEGACY_SOCKET, SIM)).path, LEGACY_SOCKET);
  t.equal(resolveSocket(undefined, env, only(SIM)).path, SIM, 'plain halpid --simulate is found');
  const none = resolveSocket(undefined, env, only());
  t.same(none, { path: DEFAULT_SOCKET, tried: [DEFAULT_SOCKET, LEGACY_SOCKET, SIM] });
});

t.test('without XDG_RUNTIME_DIR the simulator path is under the temporary directory, per user', async (t) => {
  const uid = process.getuid?.() ?? 0;
  const r = resolveSocket(undefined, { TMPDIR: '/tmp' }, only());
  t.match(r.tried[2], new RegExp(`/halpid-${uid}/halpid/halpid\\.sock$`));
});

t.test('the error names every path tried, and advice that fits the machine', async (t) => {
  const enoent = Object.assign(new Error('connect ENOENT'), { code: 'ENOENT' });
  const none = resolveSocket(undefined, env, only());
  const noUnit = connectionError(none, enoent, only());
  t.equal(
    noUnit.message,
    `Failed to connect to daemon: no socket at ${DEFAULT_SOCKET}, ${LEGACY_SOCKET}, ${SIM} ` +
      '(is halpid running? Start it with: halpid, or halpid --simulate to try it without hardware)',
  );
  t.notMatch(noUnit.message, /systemctl/, 'no systemctl hint without a systemd unit');
  const withUnit = connectionError(none, enoent, only(SYSTEMD_UNITS[1]!));
  t.match(withUnit.message, /\(is halpid running\? Try: systemctl status halpid\)$/);
  const named = connectionError({ path: '/x.sock', tried: [] }, enoent, only());
  t.match(
    named.message,
    /^Failed to connect to daemon: \/x\.sock does not exist \(is halpid running\?/,
    'a named socket is named alone',
  );
  const refused = connectionError(
    { path: SIM, tried: none.tried },
    Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
    only(),
  );
  t.match(
    refused.message,
    new RegExp(`^Failed to connect to daemon: nothing is listening on ${SIM} `),
    'a found but dead socket is named',
  );
});
