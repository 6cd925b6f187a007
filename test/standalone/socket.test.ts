// The socket rules in process (standalone/socket.ts): directory creation, what may be replaced,
// the mode from birth, the group, and removal only of our own socket.
import t from 'tap';
import {
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Logger } from '../../engine/log.js';
import {
  applyGroup,
  closeSocketServer,
  ensureDirectory,
  isOwnSocket,
  listenOnSocket,
  prepareSocketPath,
  resolveGroup,
  SocketError,
} from '../../standalone/socket.js';
import { GID } from '../helpers/daemon.js';
import { tempDir } from '../helpers/tmp.js';

const logs = () => {
  const lines: string[] = [];
  const logger: Logger = {
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
  return { lines, logger };
};
const root = (process.getuid?.() ?? 0) === 0;

async function listening(path: string): Promise<{ server: Server; id: { dev: number; ino: number } }> {
  const server = createServer();
  const id = await listenOnSocket(server, path, Number(GID), logs().logger);
  return { server, id };
}

t.test('resolveGroup: a gid, a name from the group file, a missing name', async (t) => {
  const dir = tempDir('halpid-grp-');
  const file = join(dir, 'group');
  writeFileSync(file, 'root:x:0:\nhalpid:x:961:pi\nbroken:x:notanumber:\n');
  const noNss = (): string => {
    throw new Error('no such group');
  };
  const opts = { groupFile: file, getent: noNss };
  t.equal(resolveGroup(42, opts), 42);
  t.equal(resolveGroup('4343', opts), 4343, 'digits are a gid');
  t.equal(resolveGroup('halpid', opts), 961);
  t.equal(resolveGroup('no-such-group-anywhere', opts), null);
  t.equal(
    resolveGroup('broken', { groupFile: join(dir, 'missing') }),
    null,
    'an unreadable file falls back to NSS, which has no such group',
  );
  for (const name of ['12a', 'a12', '1 2'])
    t.equal(resolveGroup(name, opts), null, `${JSON.stringify(name)} is a name, and no group has it`);
});

t.test('resolveGroup: only whole numbers count as a gid, in the file and from NSS', async (t) => {
  const file = join(tempDir('halpid-grp2-'), 'group');
  writeFileSync(file, 'pre:x:a12:\npost:x:12a:\nnone:x::\nshort\n');
  const noNss = (): string => {
    throw new Error('no such group');
  };
  for (const name of ['pre', 'post', 'none', 'short'])
    t.equal(resolveGroup(name, { groupFile: file, getent: noNss }), null, name);
  const nss = (line: string) => ({ groupFile: file, getent: () => line });
  t.equal(resolveGroup('ldap', nss('ldap:*:5001:alice,bob\n')), 5001, 'a line from NSS');
  t.equal(resolveGroup('ldap', nss('ldap:*: 5002 \n')), 5002, 'spaces around the gid are trimmed');
  for (const line of ['ldap:*:50a1:\n', 'ldap:*:a5001:\n', 'ldap:*:5001a\n', 'ldap:*::\n', 'ldap\n']) {
    t.equal(resolveGroup('ldap', nss(line)), null, JSON.stringify(line));
  }
  t.equal(resolveGroup('halpid', nss('halpid:x:961:\n')), 961, "the group file's own line wins when it has the name");
});

t.test('ensureDirectory: creates every missing level with mode 0755; refuses a file in the way', async (t) => {
  const dir = tempDir('halpid-mk-');
  const deep = join(dir, 'a', 'b', 'c');
  const umask = process.umask(0); // the mode asked for, not the umask's
  try {
    ensureDirectory(deep);
  } finally {
    process.umask(umask);
  }
  for (const d of [join(dir, 'a'), join(dir, 'a', 'b'), deep]) t.equal(statSync(d).mode & 0o777, 0o755, d);
  ensureDirectory(deep); // already there: fine
  writeFileSync(join(dir, 'file'), 'x');
  t.throws(
    () => ensureDirectory(join(dir, 'file', 'sub')),
    new SocketError(
      `Cannot create the socket directory ${join(dir, 'file', 'sub')}: ${join(dir, 'file')} is not a directory`,
      true,
    ),
  );
  t.throws(() => ensureDirectory('/proc/nope/deeper'), {
    name: 'SocketError',
    message: /^Cannot create the socket directory \/proc\/nope\/deeper: ENOENT/,
  });
  const e = (() => {
    try {
      ensureDirectory('/proc/nope');
    } catch (err) {
      return err as SocketError;
    }
  })();
  t.equal(
    e?.startupMessage,
    "Cannot create the socket directory /proc/nope: ENOENT: no such file or directory, mkdir '/proc/nope', exiting",
  );
});

t.test('ensureDirectory: creates exactly the missing levels, outermost first, and nothing else', async (t) => {
  const dir = tempDir('halpid-mk-');
  const made: string[] = [];
  ensureDirectory(join(dir, 'x', 'y'), (path, opts) => {
    made.push(path);
    mkdirSync(path, opts);
  });
  t.same(made, [join(dir, 'x'), join(dir, 'x', 'y')]);
  made.length = 0;
  ensureDirectory(join(dir, 'x', 'y'), (path) => made.push(path));
  t.same(made, [], 'all there: nothing created');
});

t.test(
  'ensureDirectory: a directory another process creates in the meantime is fine; anything else is not',
  async (t) => {
    const dir = tempDir('halpid-race-');
    const raced = join(dir, 'a', 'b');
    // The other process wins the race for each level: mkdir then fails with EEXIST.
    ensureDirectory(raced, (p, o) => {
      mkdirSync(p, o);
      mkdirSync(p, o);
    });
    t.ok(statSync(raced).isDirectory());
    // A file appears instead of the directory: EEXIST, but not a directory.
    const file = join(dir, 'f');
    t.throws(
      () =>
        ensureDirectory(file, (p) => {
          writeFileSync(p, 'x');
          mkdirSync(p);
        }),
      {
        name: 'SocketError',
        message: `Cannot create the socket directory ${file}: EEXIST: file already exists, mkdir '${file}'`,
      },
    );
    // EEXIST, but by the time we look nothing is there.
    const vanished = join(dir, 'v');
    t.throws(
      () =>
        ensureDirectory(vanished, () => {
          throw Object.assign(new Error('EEXIST: file already exists'), { code: 'EEXIST' });
        }),
      { name: 'SocketError', message: `Cannot create the socket directory ${vanished}: EEXIST: file already exists` },
    );
    // Another error, although the directory is there by then: still an error.
    const denied = join(dir, 'd');
    t.throws(
      () =>
        ensureDirectory(denied, (p) => {
          mkdirSync(p);
          throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
        }),
      { name: 'SocketError', message: `Cannot create the socket directory ${denied}: EACCES: permission denied` },
    );
  },
);

t.test('prepareSocketPath: nothing there, a file, a directory, a live socket, a stale socket', async (t) => {
  const dir = tempDir('halpid-prep-');
  const { lines, logger } = logs();
  await prepareSocketPath(join(dir, 'new', 'h.sock'), logger);
  t.ok(statSync(join(dir, 'new')).isDirectory(), 'the directory is created');
  t.same(lines, []);
  const file = join(dir, 'file.sock');
  writeFileSync(file, 'precious');
  await t.rejects(prepareSocketPath(file, logger), { message: `${file} exists and is not a socket` });
  t.equal(readFileSync(file, 'utf8'), 'precious', 'never deleted');
  mkdirSync(join(dir, 'd.sock'));
  await t.rejects(prepareSocketPath(join(dir, 'd.sock'), logger), {
    message: `${join(dir, 'd.sock')} exists and is not a socket`,
  });
  const live = join(dir, 'live.sock');
  const l = await listening(live);
  await t.rejects(prepareSocketPath(live, logger), { message: `${live} is in use by another process` });
  t.ok(statSync(live).isSocket(), 'the live socket stays');
  // Stale: the socket file of a process that was killed (it had no chance to remove it).
  const stale = join(dir, 'stale.sock');
  spawnSync(process.execPath, [
    '-e',
    `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  t.ok(statSync(stale).isSocket(), 'a killed server leaves its socket file');
  await prepareSocketPath(stale, logger);
  t.notOk(existsSync(stale), 'a stale socket is removed');
  t.same(lines, [`info Removed stale socket ${stale}`]);
  l.server.close();
});

t.test(
  'prepareSocketPath: a socket owned by another user is refused',
  { skip: !root && 'needs root to chown' },
  async (t) => {
    const dir = tempDir('halpid-uid-');
    const path = join(dir, 'h.sock');
    const { server } = await listening(path);
    chownSync(path, 12345, -1);
    server.unref();
    const err = await prepareSocketPath(path, logs().logger).catch((e: SocketError) => e);
    t.equal((err as SocketError).startupMessage, `${path} exists and is owned by UID 12345, exiting`);
    t.ok(existsSync(path));
    // Its owner may replace it (it is stale: nobody accepts on it).
    server.close();
    const { server: again } = await listening(path);
    chownSync(path, 12345, -1);
    again.close();
    const stale = join(dir, 'stale.sock');
    spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    chownSync(stale, 12345, -1);
    const { lines, logger } = logs();
    await prepareSocketPath(stale, logger, 12345);
    t.same(lines, [`info Removed stale socket ${stale}`], 'the same user');
    // A root-owned stale socket may be replaced by anyone (halpid 5.x ran as root).
    spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    t.equal(statSync(stale).uid, 0);
    await prepareSocketPath(stale, logger, 4242);
    t.notOk(existsSync(stale), "root's stale socket is replaced by another user");
  },
);

t.test('listenOnSocket: mode 0660, the group, a missing group', async (t) => {
  const dir = tempDir('halpid-listen-');
  const path = join(dir, 'h.sock');
  // A umask the bind's own 0117 cannot be mistaken for, to see that it is given back.
  const before = process.umask(0o027);
  t.teardown(() => {
    process.umask(before);
  });
  const { server, id } = await listening(path);
  t.teardown(() => server.close());
  const st = statSync(path);
  t.equal(st.mode & 0o777, 0o660);
  t.equal(st.gid, Number(GID));
  t.same(id, { dev: st.dev, ino: st.ino });
  t.equal(process.umask(), 0o027, 'the umask is given back');
  t.equal(server.listenerCount('error'), 0, 'no error handler of the bind left behind');
  const other = createServer();
  const err = await listenOnSocket(other, join(dir, 'g.sock'), 'no-such-group-here', logs().logger).catch(
    (e: SocketError) => e,
  );
  t.equal((err as SocketError).startupMessage, 'Group no-such-group-here does not exist, exiting');
  t.notOk(existsSync(join(dir, 'g.sock')), 'nothing bound');
});

t.test('applyGroup: as root a failed chown is fatal, otherwise a warning', async (t) => {
  const { lines, logger } = logs();
  const missing = join(tempDir('halpid-chg-'), 'missing.sock');
  t.throws(() => applyGroup(missing, 'adm', 4, logger, true), {
    name: 'SocketError',
    message: /^Cannot change group of .*missing\.sock to adm: ENOENT/,
  });
  t.same(lines, []);
  applyGroup(missing, 'adm', 4, logger, false);
  t.match(lines, [/^warn Cannot change group of .*missing\.sock to adm: ENOENT/]);
  // Without the flag it is decided by who we are.
  if (root) t.throws(() => applyGroup(missing, 'adm', 4, logger));
  else t.doesNotThrow(() => applyGroup(missing, 'adm', 4, logger));
});

t.test('closeSocketServer removes our socket, and only ours', async (t) => {
  const dir = tempDir('halpid-close-');
  const path = join(dir, 'h.sock');
  const a = await listening(path);
  t.ok(isOwnSocket(path, a.id));
  t.ok(closeSocketServer(a.server, path, a.id), 'removed');
  t.notOk(existsSync(path));
  t.equal(isOwnSocket(path, a.id), false, 'gone is not ours');
  // Another daemon took the path over: closing ours leaves theirs, which still answers.
  const b = await listening(path);
  const c = await listening(join(dir, 'theirs.sock'));
  renameSync(join(dir, 'theirs.sock'), path);
  t.equal(isOwnSocket(path, b.id), false, 'another inode is not ours');
  t.equal(
    isOwnSocket(path, { dev: c.id.dev + 1, ino: c.id.ino }),
    false,
    'the same inode on another device is not ours',
  );
  t.equal(isOwnSocket(join(dir, 'none.sock'), b.id), false, 'nothing there is not ours');
  t.equal(closeSocketServer(b.server, path, b.id), false, 'not removed');
  t.ok(isOwnSocket(path, c.id), 'their socket stays');
  t.same(readdirSync(dir), ['h.sock'], 'no second name left behind');
  const { connect } = await import('node:net');
  await new Promise<void>((resolve, reject) =>
    connect(path)
      .once('connect', function (this: import('node:net').Socket) {
        this.destroy();
        resolve();
      })
      .once('error', reject),
  );
  c.server.close();
  // Nothing at the path at all: closing is fine and removes nothing.
  const d = await listening(path);
  rmSync(path);
  t.equal(closeSocketServer(d.server, path, d.id), false);
  t.same(readdirSync(dir), []);
});

t.test('what start-up says for each refusal ends with ", exiting"; a group only NSS knows', async (t) => {
  const dir = tempDir('halpid-msg-');
  const file = join(dir, 'file.sock');
  writeFileSync(file, 'x');
  const err = await prepareSocketPath(file, logs().logger).catch((e: SocketError) => e);
  t.equal((err as SocketError).startupMessage, `${file} exists and is not a socket, exiting`);
  const live = join(dir, 'live.sock');
  const l = await listening(live);
  const inUse = await prepareSocketPath(live, logs().logger).catch((e: SocketError) => e);
  t.equal((inUse as SocketError).startupMessage, `${live} is in use by another process, exiting`);
  l.server.close();
  t.equal(new SocketError('plain').startupMessage, 'plain', 'not every socket error says exiting');
  // Not in the given group file: getent (NSS) answers.
  const empty = join(dir, 'group');
  writeFileSync(empty, '');
  t.equal(resolveGroup('root', { groupFile: empty }), 0, 'the real getent');
  writeFileSync(empty, 'nogid:x::\n');
  t.equal(resolveGroup('nogid', { groupFile: empty }), null, 'a name without a gid is no group');
  t.equal(resolveGroup('root', { getent: () => 'root:x:4711:\n' }), 0, '/etc/group is read first');
});

t.test('a path too long for a Unix socket is refused before anything is created', async (t) => {
  const base = tempDir('halpid-long-');
  let dir = base;
  while (dir.length < 120) dir = join(dir, 'abcdefghij');
  const path = join(dir, 'h.sock');
  const err = await listenOnSocket(createServer(), path, Number(GID), logs().logger).catch((e: SocketError) => e);
  t.equal(
    (err as SocketError).startupMessage,
    `${path} is too long for a Unix socket (${Buffer.byteLength(path)} bytes, at most 107), exiting`,
  );
  t.notOk(existsSync(join(base, 'abcdefghij')), 'no directory created');
  // At the limit it works.
  const fits = join(base, 'x'.repeat(107 - base.length - 1));
  t.equal(Buffer.byteLength(fits), 107);
  const { server } = await listening(fits);
  t.ok(statSync(fits).isSocket());
  server.close();
});

t.test('a bind that fails: "Cannot listen on …"', async (t) => {
  const path = join(tempDir('halpid-bindfail-'), 'h.sock');
  const server = createServer();
  (server as unknown as { listen: (p: string, cb: () => void) => void }).listen = () => {
    setImmediate(() => server.emit('error', Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' })));
  };
  const err = await listenOnSocket(server, path, Number(GID), logs().logger).catch((e: SocketError) => e);
  t.equal((err as SocketError).message, `Cannot listen on ${path}: listen EADDRINUSE`);
  t.equal((err as SocketError).startupMessage, (err as SocketError).message, 'said as it is');
});

t.test('closeSocketServer also ends the connections still open', async (t) => {
  const { connect } = await import('node:net');
  const path = join(tempDir('halpid-conn-'), 'h.sock');
  const a = await listening(path);
  // The server's side must exist before it is closed: wait for both ends, listening first.
  const accepted = new Promise<void>((r) => a.server.once('connection', () => r()));
  const client = connect(path);
  await new Promise<void>((r) => client.once('connect', () => r()));
  await accepted;
  const closed = new Promise<void>((r) => client.once('close', () => r()));
  client.on('error', () => {});
  closeSocketServer(a.server, path, a.id);
  await closed;
  t.pass('the open connection was closed');
});

t.test('closeSocketServer on a plain net server (no HTTP connections to end)', async (t) => {
  const { createServer: netServer } = await import('node:net');
  const path = join(tempDir('halpid-net-'), 'h.sock');
  const server = netServer();
  const id = await listenOnSocket(server, path, Number(GID), logs().logger);
  t.equal(closeSocketServer(server, path, id), true);
  t.notOk(existsSync(path));
});

t.test(
  'a server whose socket was taken over neither keeps the process alive nor removes the new socket at exit',
  async (t) => {
    const dir = tempDir('halpid-unref-');
    const path = join(dir, 'h.sock');
    const module = join(process.cwd(), 'standalone', 'socket.ts');
    // A child listens, finds its path taken over by a new socket, closes, and must exit on its own.
    const script = `
    import { createServer } from 'node:http';
    import { renameSync } from 'node:fs';
    import { closeSocketServer, listenOnSocket } from ${JSON.stringify(module)};
    const log = { info() {}, warn() {}, error() {} };
    const server = createServer();
    const id = await listenOnSocket(server, ${JSON.stringify(path)}, ${Number(GID)}, log);
    const other = createServer();
    await listenOnSocket(other, ${JSON.stringify(path + '.new')}, ${Number(GID)}, log);
    renameSync(${JSON.stringify(path + '.new')}, ${JSON.stringify(path)});
    other.close = () => other; // the other daemon lives on; its file must stay after we exit
    other.unref();
    // A string, not a boolean: console.log colours booleans when the test runner forces colour (a terminal).
    console.log('removed ' + String(closeSocketServer(server, ${JSON.stringify(path)}, id)));
  `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    t.equal(r.signal, null, 'exited by itself, not killed by the timeout');
    t.equal(r.stdout.trim(), 'removed false');
    t.ok(statSync(path).isSocket(), 'the other socket stays');
    t.same(readdirSync(dir), ['h.sock'], 'no second name left behind');
  },
);
