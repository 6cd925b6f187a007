// The socket rules in process (standalone/socket.ts): directory creation, what may be replaced,
// the mode from birth, the group, and removal only of our own socket.
import t from 'tap';
import { chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Logger } from '../../engine/log.js';
import {
  applyGroup, closeSocketServer, ensureDirectory, isOwnSocket, listenOnSocket, prepareSocketPath, resolveGroup, SocketError,
} from '../../standalone/socket.js';
import { GID } from '../helpers/daemon.js';
import { tempDir } from '../helpers/tmp.js';

const logs = () => {
  const lines: string[] = [];
  const logger: Logger = { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
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
  t.equal(resolveGroup(42, file), 42);
  t.equal(resolveGroup('43', file), 43, 'digits are a gid');
  t.equal(resolveGroup('halpid', file), 961);
  t.equal(resolveGroup('no-such-group-anywhere', file), null);
  t.equal(resolveGroup('broken', join(dir, 'missing')), null, 'an unreadable file falls back to NSS, which has no such group');
});

t.test('ensureDirectory: creates every missing level with mode 0755; refuses a file in the way', async (t) => {
  const dir = tempDir('halpid-mk-');
  const deep = join(dir, 'a', 'b', 'c');
  ensureDirectory(deep);
  for (const d of [join(dir, 'a'), join(dir, 'a', 'b'), deep]) t.equal(statSync(d).mode & 0o777, 0o755 & ~process.umask(), d);
  ensureDirectory(deep); // already there: fine
  writeFileSync(join(dir, 'file'), 'x');
  t.throws(() => ensureDirectory(join(dir, 'file', 'sub')),
    new SocketError(`Cannot create the socket directory ${join(dir, 'file', 'sub')}: ${join(dir, 'file')} is not a directory`, true));
  t.throws(() => ensureDirectory('/proc/nope/deeper'), { name: 'SocketError', message: /^Cannot create the socket directory \/proc\/nope\/deeper: ENOENT/ });
  const e = (() => { try { ensureDirectory('/proc/nope'); } catch (err) { return err as SocketError; } })();
  t.equal(e?.startupMessage, "Cannot create the socket directory /proc/nope: ENOENT: no such file or directory, mkdir '/proc/nope', exiting");
});

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
  await t.rejects(prepareSocketPath(join(dir, 'd.sock'), logger), { message: `${join(dir, 'd.sock')} exists and is not a socket` });
  const live = join(dir, 'live.sock');
  const l = await listening(live);
  await t.rejects(prepareSocketPath(live, logger), { message: `${live} is in use by another process` });
  t.ok(statSync(live).isSocket(), 'the live socket stays');
  // Stale: the socket file of a process that was killed (it had no chance to remove it).
  const stale = join(dir, 'stale.sock');
  spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  t.ok(statSync(stale).isSocket(), 'a killed server leaves its socket file');
  await prepareSocketPath(stale, logger);
  t.notOk(existsSync(stale), 'a stale socket is removed');
  t.same(lines, [`info Removed stale socket ${stale}`]);
  l.server.close();
});

t.test('prepareSocketPath: a socket owned by another user is refused', { skip: !root && 'needs root to chown' }, async (t) => {
  const dir = tempDir('halpid-uid-');
  const path = join(dir, 'h.sock');
  const { server } = await listening(path);
  chownSync(path, 12345, -1);
  server.unref();
  await t.rejects(prepareSocketPath(path, logs().logger), { message: `${path} exists and is owned by UID 12345` });
  t.ok(existsSync(path));
});

t.test('listenOnSocket: mode 0660, the group, a missing group', async (t) => {
  const dir = tempDir('halpid-listen-');
  const path = join(dir, 'h.sock');
  const { server, id } = await listening(path);
  t.teardown(() => server.close());
  const st = statSync(path);
  t.equal(st.mode & 0o777, 0o660);
  t.equal(st.gid, Number(GID));
  t.same(id, { dev: st.dev, ino: st.ino });
  const other = createServer();
  const err = await listenOnSocket(other, join(dir, 'g.sock'), 'no-such-group-here', logs().logger).catch((e: SocketError) => e);
  t.equal((err as SocketError).startupMessage, 'Group no-such-group-here does not exist, exiting');
  t.notOk(existsSync(join(dir, 'g.sock')), 'nothing bound');
});

t.test('applyGroup: as root a failed chown is fatal, otherwise a warning', async (t) => {
  const { lines, logger } = logs();
  const missing = join(tempDir('halpid-chg-'), 'missing.sock');
  if (root) t.throws(() => applyGroup(missing, 'adm', 4, logger), { name: 'SocketError', message: /^Cannot change group of .*missing\.sock to adm: ENOENT/ });
  else {
    applyGroup(missing, 'adm', 4, logger);
    t.match(lines, [/^warn Cannot change group of .*missing\.sock to adm: ENOENT/]);
  }
});

t.test('closeSocketServer removes our socket, and only ours', async (t) => {
  const dir = tempDir('halpid-close-');
  const path = join(dir, 'h.sock');
  const a = await listening(path);
  t.ok(isOwnSocket(path, a.id));
  t.ok(closeSocketServer(a.server, path, a.id), 'removed');
  t.notOk(existsSync(path));
  t.notOk(isOwnSocket(path, a.id), 'gone is not ours');
  // Another daemon took the path over: ours is not closed over it, theirs stays.
  const b = await listening(path);
  const theirs = join(dir, 'theirs.sock');
  const c = await listening(theirs);
  t.notOk(isOwnSocket(theirs, b.id), 'another inode is not ours');
  t.notOk(closeSocketServer(b.server, theirs, b.id), 'not removed');
  t.ok(existsSync(theirs), 'their socket stays');
  c.server.close();
  b.server.close();
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
  t.equal(resolveGroup('root', empty), 0);
  writeFileSync(empty, 'nogid:x::\n');
  t.equal(resolveGroup('nogid', empty), null, 'a name without a gid is no group');
});

t.test('a path too long for a Unix socket is refused before anything is created', async (t) => {
  const base = tempDir('halpid-long-');
  let dir = base;
  while (dir.length < 120) dir = join(dir, 'abcdefghij');
  const path = join(dir, 'h.sock');
  const err = await listenOnSocket(createServer(), path, Number(GID), logs().logger).catch((e: SocketError) => e);
  t.equal((err as SocketError).startupMessage,
    `${path} is too long for a Unix socket (${Buffer.byteLength(path)} bytes, at most 107), exiting`);
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
  const client = connect(path);
  await new Promise<void>((r) => client.once('connect', () => r()));
  await new Promise<void>((r) => a.server.once('connection', () => r()).listenerCount && setImmediate(r));
  const closed = new Promise<void>((r) => client.once('close', () => r()));
  client.on('error', () => {});
  closeSocketServer(a.server, path, a.id);
  await closed;
  t.pass('the open connection was closed');
});
