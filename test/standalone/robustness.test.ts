// halpid survives what its surroundings do to it: a stdout reader that goes away, socket paths
// that cannot be created (one clear line, exit 1, never a hang or an uncaught exception), a failed
// socket move on SIGHUP (it keeps running, and says so), and the halpid:config debug namespace.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GID, spawnHalpid, startDaemon } from '../helpers/daemon.js';
import { tempDir } from '../helpers/tmp.js';

async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const p = spawnHalpid(
    ['--simulate', '--socket-group', GID, '--poweroff', 'true', '--poweroff-fallback', '', ...args],
    env,
  );
  const timer = setTimeout(() => p.proc.kill('SIGKILL'), 15_000); // a hang fails the test, not the run
  const code = await p.exited;
  clearTimeout(timer);
  return { code, out: p.output() };
}

t.test('a closed stdout (halpid | head): the daemon keeps serving and exits cleanly', async (t) => {
  const dir = tempDir('halpid-epipe-');
  const conf = join(dir, 'halpid.conf');
  writeFileSync(conf, 'blackout-time-limit: 30\n');
  const d = await startDaemon(['--conf', conf]);
  t.teardown(() => d.stop());
  d.proc.stdout!.destroy(); // the reader goes away: every info line now meets EPIPE
  // A reload writes "Received SIGHUP…" to stdout, then its error to stderr: once the error is
  // there, the stdout write has failed.
  writeFileSync(conf, 'blackout-time-limit: nope\n');
  d.proc.kill('SIGHUP');
  await d.waitLog(/Configuration reload failed/);
  await d.req('POST', '/sim/power', { headers: { 'Content-Type': 'application/json' }, body: '{"on":false}' });
  await d.req('POST', '/sim/power', { headers: { 'Content-Type': 'application/json' }, body: '{"on":true}' });
  const v = await d.req('GET', '/version');
  t.equal(v.status, 200, 'still serving after writes to a closed stdout');
  t.equal(await d.stop(), 0, 'SIGTERM: clean exit 0');
  t.notMatch(d.logs(), /Uncaught exception|EPIPE/);
});

t.test('a socket under /proc: exit 1 with one line, at once (no spin)', async (t) => {
  const r = await run(['--socket', '/proc/nope/x.sock']);
  t.equal(r.code, 1);
  const errors = r.out.split('\n').filter((l) => / ERROR /.test(l));
  t.same(
    errors.map((l) => l.replace(/^\S+ ERROR /, '')),
    ["Cannot create the socket directory /proc/nope: ENOENT: no such file or directory, mkdir '/proc/nope', exiting"],
  );
  t.notMatch(r.out, /Uncaught exception/);
});

t.test('a socket directory that cannot be created (a file in the way): exit 1 with one line', async (t) => {
  const dir = tempDir('halpid-sockdir-');
  writeFileSync(join(dir, 'file'), 'x');
  const r = await run(['--socket', join(dir, 'file', 'sub', 'h.sock')]);
  t.equal(r.code, 1);
  const errors = r.out.split('\n').filter((l) => / ERROR /.test(l));
  t.same(
    errors.map((l) => l.replace(/^\S+ ERROR /, '')),
    [
      `Cannot create the socket directory ${join(dir, 'file', 'sub')}: ${join(dir, 'file')} is not a directory, exiting`,
    ],
  );
});

t.test('SIGHUP to an uncreatable socket path: it keeps the old socket and does not say "exiting"', async (t) => {
  const dir = tempDir('halpid-move-');
  const conf = join(dir, 'halpid.conf');
  const first = join(dir, 'a.sock');
  writeFileSync(conf, `socket: ${first}\n`);
  // The socket comes from the file (a --socket flag would pin it across reloads).
  const p = spawnHalpid([
    '--simulate',
    '--socket-group',
    GID,
    '--poweroff',
    'true',
    '--poweroff-fallback',
    '',
    '--conf',
    conf,
  ]);
  t.teardown(() => {
    p.proc.kill('SIGKILL');
  });
  // Errors go to stderr and info to stdout: the two pipes race, so wait on either.
  // Bounded: a daemon that exits or never logs it fails the test with its output.
  const waitFor = async (re: RegExp, limitMs = 20_000) => {
    const start = Date.now();
    while (!re.test(p.output())) {
      if (p.proc.exitCode !== null || p.proc.signalCode !== null)
        throw new Error(`halpid exited before logging ${re}:\n${p.output()}`);
      if (Date.now() - start > limitMs) throw new Error(`no log line ${re} within ${limitMs} ms:\n${p.output()}`);
      await new Promise<void>((r) => {
        const done = () => {
          clearTimeout(tick);
          p.proc.stdout!.off('data', done);
          p.proc.stderr!.off('data', done);
          p.proc.off('exit', done);
          r();
        };
        const tick = setTimeout(done, 500); // re-check the limit even when nothing is written
        p.proc.stdout!.once('data', done);
        p.proc.stderr!.once('data', done);
        p.proc.once('exit', done);
      });
    }
  };
  await waitFor(/Starting power management state machine/);
  writeFileSync(conf, 'socket: /proc/nope/b.sock\n');
  p.proc.kill('SIGHUP');
  await waitFor(/Configuration reloaded/);
  await waitFor(/Cannot move the socket/);
  const line = p
    .output()
    .split('\n')
    .find((l) => l.includes('Cannot move the socket'));
  t.match(
    line,
    new RegExp(
      `Cannot move the socket to /proc/nope/b\\.sock: Cannot create the socket directory /proc/nope: .*; keeping ${first}$`,
    ),
  );
  t.notMatch(line, /exiting/);
  p.proc.kill('SIGTERM');
  t.equal(await p.exited, 0);
});

t.test('DEBUG=halpid:config shows the files read and the effective configuration', async (t) => {
  const dir = tempDir('halpid-dbg-');
  const conf = join(dir, 'halpid.conf');
  writeFileSync(conf, 'blackout-time-limit: 7\nweb-token: s3cret\n');
  const d = await startDaemon(['--conf', conf], { DEBUG: 'halpid:config' });
  t.teardown(() => d.stop());
  await d.waitLog(/halpid:config effective configuration/);
  t.match(d.logs(), new RegExp(`halpid:config read ${conf}`));
  t.match(d.logs(), /'blackout-time-limit': 7/);
  t.notMatch(d.logs(), /s3cret/, 'the web token is masked');
});

t.test('the socket is born 0660: the umask is 0117 at the moment of bind, and restored after', async (t) => {
  const { createServer } = await import('node:net');
  const { statSync } = await import('node:fs');
  const { listenOnSocket } = await import('../../standalone/socket.js');
  const { silentLogger } = await import('../../engine/log.js');
  const dir = tempDir('halpid-umask-');
  const path = join(dir, 'h.sock');
  const server = createServer();
  t.teardown(() => server.close());
  const before = process.umask();
  let atBind = -1;
  const listen = server.listen.bind(server);
  (server as unknown as { listen: (...a: unknown[]) => unknown }).listen = (...args: unknown[]) => {
    atBind = process.umask(); // reading the umask sets it: put it back at once
    process.umask(atBind);
    return (listen as (...a: unknown[]) => unknown)(...args);
  };
  await listenOnSocket(server as never, path, Number(GID), silentLogger);
  t.equal(atBind, 0o117, 'umask 0117 while binding: the socket file is created with mode 0660');
  t.equal(statSync(path).mode & 0o777, 0o660);
  t.equal(process.umask(), before, 'the process umask is restored');
});
