// The poweroff and rtcwake actions (engine/commands.ts): what is run, what is simulated, the
// failure report the Signal K plugin turns into an emergency, and the poweroff that must run
// whatever fails (docs/configuration.md): a timeout, a fallback, descriptors in reserve.
// Only harmless commands run here.
import t, { type Test } from 'tap';
import { spawn as realSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandActions, RtcwakeError, type CommandOptions, type SpawnFn } from '../../engine/commands.js';
import { FakeClock, flushMicrotasks } from '../../engine/clock.js';
import type { Logger } from '../../engine/log.js';
import { SimulatedController } from '../../engine/simulator/controller.js';
import { ROOT } from '../helpers/daemon.js';
import { tempDir } from '../helpers/tmp.js';

interface RigOptions {
  simulator?: SimulatedController;
  fallback?: string;
  timeoutS?: number;
  clock?: FakeClock;
  spawn?: SpawnFn;
  rtcwake?: string;
  rtcwakeTimeoutMs?: number;
  simExecuteCommands?: boolean;
  reserveFds?: number;
}

/**
 * The real spawn, except for a command that would halt this machine: several tests name
 * `/sbin/poweroff` as the command of a stubbed spawn, and one that lost its stub must fail, not run it.
 */
const HALTS =
  /^\s*(?:(?:\/usr)?\/s?bin\/)?(?:poweroff|shutdown|halt|reboot|rtcwake)\b|^\s*systemctl\s+(?:poweroff|halt|reboot)\b/;
const safeSpawn: SpawnFn = (cmd, args, options) => {
  const line = cmd === '/bin/sh' && args[0] === '-c' ? args[1]! : [cmd, ...args].join(' ');
  if (HALTS.test(line)) throw new Error(`test refused to run ${JSON.stringify(line)} for real`);
  return realSpawn(cmd, args, options);
};

const rig = (t: Test, o: RigOptions = {}) => {
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (line: string) => void }> = [];
  const push = (line: string): void => {
    lines.push(line);
    for (const w of [...waiters]) {
      if (w.re.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  const logger: Logger = {
    info: (m) => push(`info ${m}`),
    warn: (m) => push(`warn ${m}`),
    error: (m) => push(`error ${m}`),
  };
  /** Resolves with the first line (past or future) matching `re`. */
  const waitLine = (re: RegExp): Promise<string> => {
    const seen = lines.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => waiters.push({ re, resolve }));
  };
  const failures: string[] = [];
  let failureSeen: () => void = () => {};
  /** Resolves once the plugin has been told `n` failures. */
  const waitFailures = async (n: number): Promise<void> => {
    while (failures.length < n)
      await new Promise<void>((r) => {
        failureSeen = r;
      });
  };
  const opts: CommandOptions = {
    logger,
    simulator: o.simulator,
    clock: o.clock,
    spawn: o.spawn ?? safeSpawn,
    rtcwakeTimeoutMs: o.rtcwakeTimeoutMs,
    reserveFds: o.reserveFds,
    settings: () => ({
      // Never the machine's own rtcwake: every test that runs one gives a recording stand-in.
      rtcwake: o.rtcwake ?? '/nonexistent/rtcwake',
      simExecuteCommands: o.simExecuteCommands ?? false,
      poweroffTimeoutS: o.timeoutS ?? 15,
      poweroffFallback: o.fallback ?? '',
    }),
    onPoweroffFailure: (reason) => {
      failures.push(reason);
      failureSeen();
    },
  };
  const actions = commandActions(opts);
  t.teardown(() => actions.close());
  return { lines, failures, actions, waitLine, waitFailures };
};

const marker = (): string => join(tempDir('halpid-cmd-'), 'ran');

t.test('a poweroff command that exits non-zero: an error line, the plugin told, then the fallback runs', async (t) => {
  const file = marker();
  const { actions, failures, lines, waitLine } = rig(t, { fallback: `touch ${file}` });
  actions.poweroff('echo going down; echo "   "; exit 3');
  await waitLine(/Poweroff fallback exited with code 0/);
  await flushMicrotasks(); // what follows the fallback's exit has run: a success there reports nothing
  t.same(failures, ['exited with code 3']);
  t.ok(existsSync(file), 'the fallback ran');
  t.same(lines, [
    'info Executing: echo going down; echo "   "; exit 3',
    'info poweroff: going down',
    'error Poweroff command exited with code 3',
    `warn Executing poweroff fallback: touch ${file}`,
    'info Poweroff fallback exited with code 0',
  ]);
  // (a line of white space from the command is not logged)
});

t.test('a poweroff command that succeeds reports nothing and runs no fallback', async (t) => {
  const file = marker();
  const { actions, failures, lines, waitLine } = rig(t, { fallback: `touch ${file}` });
  actions.poweroff('true');
  await waitLine(/Poweroff command exited with code 0/);
  await flushMicrotasks(); // the outcome has been acted on
  t.same(failures, []);
  t.notOk(existsSync(file));
  t.same(lines, ['info Executing: true', 'info Poweroff command exited with code 0']);
});

t.test('a missing poweroff command (exit 127): error logged, the fallback runs', async (t) => {
  const file = marker();
  const { actions, failures, lines, waitLine } = rig(t, { fallback: `touch ${file}` });
  actions.poweroff('/nonexistent/poweroff');
  await waitLine(/Poweroff fallback exited/);
  t.same(failures, ['exited with code 127']);
  t.ok(lines.includes('error Poweroff command exited with code 127 (command not found)'), lines.join('\n'));
  t.ok(existsSync(file), 'the fallback ran');
});

t.test('a poweroff command killed by a signal is a failure, not a success', async (t) => {
  const file = marker();
  const { actions, failures, lines, waitLine } = rig(t, { fallback: `touch ${file}` });
  actions.poweroff('kill -TERM $$');
  await waitLine(/Poweroff fallback exited/);
  t.same(failures, ['killed by SIGTERM']);
  t.ok(lines.includes('error Poweroff command was killed by SIGTERM'));
  t.ok(existsSync(file), 'the fallback ran');
});

t.test('a hanging poweroff command: after the timeout an error line and the fallback, not before', async (t) => {
  const clock = new FakeClock();
  const file = marker();
  const { actions, failures, lines, waitLine } = rig(t, { clock, timeoutS: 15, fallback: `touch ${file}` });
  // The shell prints its pid and becomes `sleep`, so the test can end it.
  actions.poweroff('echo $$; exec sleep 1000');
  const pid = Number((await waitLine(/^info poweroff: \d+$/)).split(' ').at(-1));
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  await clock.advance(14_900);
  t.notOk(
    lines.some((l) => /fallback/.test(l)),
    'no fallback before the timeout',
  );
  await clock.advance(100);
  await waitLine(/Poweroff fallback exited with code 0/);
  t.ok(lines.includes('error Poweroff command did not finish within 15 s'), lines.join('\n'));
  t.same(failures, ['did not finish within 15 s']);
  t.ok(existsSync(file), 'the fallback ran');
  t.doesNotThrow(() => process.kill(pid, 0), 'the hung command is left running (it may still be syncing a disk)');
});

t.test('a hanging fallback is logged too, and the plugin hears of both failures', async (t) => {
  const clock = new FakeClock();
  const { actions, failures, lines, waitLine, waitFailures } = rig(t, {
    clock,
    timeoutS: 2,
    fallback: 'echo $$; exec sleep 1000',
  });
  actions.poweroff('exit 1');
  const pid = Number((await waitLine(/^info poweroff-fallback: \d+$/)).split(' ').at(-1));
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  await clock.advance(2000);
  await waitFailures(2);
  t.same(failures, ['exited with code 1', 'fallback did not finish within 2 s']);
  t.ok(lines.includes('error Poweroff fallback did not finish within 2 s'));
});

t.test('without a fallback, a failed poweroff says so at error level', async (t) => {
  const { actions, failures, waitLine } = rig(t, { fallback: '' });
  actions.poweroff('exit 2');
  t.equal(
    await waitLine(/poweroff-fallback/),
    'error No poweroff-fallback is configured: the host stays up until the controller cuts the power',
  );
  t.same(failures, ['exited with code 2']);
});

/** A child as spawn returns it when the process has no descriptors left: no stdio, an async EMFILE. */
function exhaustedChild(): ChildProcess {
  const child = new EventEmitter() as ChildProcess;
  const err = Object.assign(new Error('spawn /bin/sh EMFILE'), {
    code: 'EMFILE',
    errno: -24,
    syscall: 'spawn /bin/sh',
  });
  // As Node does: 'error', then 'close' with the errno as the exit code.
  process.nextTick(() => {
    child.emit('error', err);
    child.emit('close', -24, null);
  });
  return child;
}

t.test(
  'out of file descriptors (async EMFILE, no stdio): the spawn is retried at once with stdio ignored',
  async (t) => {
    const file = marker();
    const calls: SpawnOptions[] = [];
    const spawn: SpawnFn = (cmd, args, options) => {
      calls.push(options);
      return calls.length === 1 ? exhaustedChild() : realSpawn(cmd, args, options);
    };
    const { actions, failures, lines, waitLine } = rig(t, { spawn, fallback: 'exit 9' });
    actions.poweroff(`touch ${file}`);
    await waitLine(/Poweroff command exited with code 0/);
    t.ok(existsSync(file), 'the poweroff command ran');
    t.same(
      calls.map((c) => c.stdio),
      [['ignore', 'pipe', 'pipe'], 'ignore'],
    );
    t.ok(
      lines.includes(
        'error Poweroff command could not start (spawn /bin/sh EMFILE); retrying with 6 reserved file descriptors freed',
      ),
      lines.join('\n'),
    );
    t.same(failures, []);
  },
);

t.test('out of file descriptors (spawn throws ENFILE): retried the same way', async (t) => {
  const file = marker();
  let n = 0;
  const spawn: SpawnFn = (cmd, args, options) => {
    if (++n === 1) throw Object.assign(new Error('spawn ENFILE'), { code: 'ENFILE' });
    return realSpawn(cmd, args, options);
  };
  const { actions, waitLine } = rig(t, { spawn });
  actions.poweroff(`touch ${file}`);
  await waitLine(/Poweroff command exited with code 0/);
  t.ok(existsSync(file));
  t.equal(n, 2);
});

t.test('a spawn that keeps failing: errors logged, the fallback tried, the plugin told, nothing thrown', async (t) => {
  let n = 0;
  const spawn: SpawnFn = () => {
    n++;
    return exhaustedChild();
  };
  const { actions, failures, lines, waitFailures } = rig(t, { spawn, fallback: 'systemctl poweroff --force' });
  actions.poweroff('/sbin/poweroff');
  await waitFailures(2);
  t.equal(n, 4, 'each command: one try and one lean retry');
  t.same(failures, ['cannot start: spawn /bin/sh EMFILE', 'fallback cannot start: spawn /bin/sh EMFILE']);
  t.ok(lines.includes('error Failed to execute poweroff command: spawn /bin/sh EMFILE'));
});

/** The real thing: a process with RLIMIT_NOFILE at 64 and every descriptor taken runs the poweroff. */
function withoutFds(reserve: number): Promise<{ code: number | null; out: string; ran: boolean }> {
  const file = marker();
  const script = join(ROOT, 'test/helpers/poweroff-without-fds.mjs');
  const child = realSpawn(
    '/bin/sh',
    ['-c', 'ulimit -n 64 && exec "$0" "$@"', process.execPath, '--import=tsx', script, ROOT, String(reserve), file],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NODE_OPTIONS: '' },
      timeout: 60_000,
    },
  );
  let out = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, ran: existsSync(file) })));
}

t.test('a real process out of file descriptors still runs the poweroff command, thanks to the reserve', async (t) => {
  const r = await withoutFds(6);
  t.equal(r.code, 0, r.out);
  t.ok(r.ran, 'the poweroff command ran');
  t.match(r.out, /then EMFILE\n/, 'every descriptor was taken');
  t.match(
    r.out,
    /error Poweroff command could not start \(spawn \/bin\/sh EMFILE\); retrying with 6 reserved file descriptors freed\n/,
  );
  const none = await withoutFds(0);
  t.equal(none.code, 3, `without a reserve it cannot start, and says so without crashing: ${none.out}`);
  t.notOk(none.ran);
  t.match(none.out, /error Failed to execute poweroff command: spawn \/bin\/sh EMFILE\n/);
});

t.test(
  'the reserve: six descriptors held from the start, all given back by close, and not taken again after',
  async (t) => {
    const open = (): number => readdirSync('/proc/self/fd').length;
    const before = open();
    const { actions, waitLine } = rig(t);
    t.equal(open(), before + 6);
    actions.poweroff('true');
    actions.close(); // a plugin stopping while a poweroff runs
    await waitLine(/Poweroff command exited with code 0/);
    t.equal(open(), before, 'nothing left open, nothing re-taken when the command ended');
  },
);

t.test('on the simulator, poweroff halts the simulated host and runs nothing', async (t) => {
  const clock = new FakeClock();
  const sim = new SimulatedController({ clock, start: 'host-running' });
  sim.start();
  t.teardown(() => sim.stop());
  const { actions, failures, lines } = rig(t, { simulator: sim });
  actions.poweroff('harmless-poweroff');
  t.same(lines, ['info Simulator: not executing harmless-poweroff']);
  t.same(failures, []);
  t.equal(sim.snapshot().host.cm_on, true, 'still halting');
  await clock.advance((sim.snapshot().host.halt_delay_s + 1) * 1000);
  t.equal(sim.snapshot().host.cm_on, false, 'halted after its halt delay, as a real host does');
});

/** An rtcwake stand-in: a script that records its arguments, then does what `body` says. */
function fakeRtcwake(body: string): { program: string; args: () => string } {
  const dir = tempDir('halpid-rtcwake-');
  const program = join(dir, 'rtcwake');
  const record = join(dir, 'args');
  writeFileSync(program, `#!/bin/sh\necho "$@" > ${record}\n${body}\n`);
  chmodSync(program, 0o755);
  return { program, args: () => (existsSync(record) ? readFileSync(record, 'utf8').trim() : '(not run)') };
}

t.test('rtcwake runs `<rtcwake> -m no -t <unix s>` and says so', async (t) => {
  const fake = fakeRtcwake('exit 0');
  const { actions, lines } = rig(t, { rtcwake: fake.program });
  await actions.rtcwake(1_900_000_000);
  t.equal(fake.args(), '-m no -t 1900000000');
  t.same(lines, [`info Executing: ${fake.program} -m no -t 1900000000`]);
});

t.test('rtcwake exiting non-zero: the API error carries its stderr', async (t) => {
  const fake = fakeRtcwake('echo "rtcwake: /dev/rtc0: no wakealarm" >&2; exit 1');
  const { actions } = rig(t, { rtcwake: fake.program });
  await t.rejects(
    actions.rtcwake(1_900_000_000),
    new RtcwakeError('rtcwake failed: rtcwake: /dev/rtc0: no wakealarm\n'),
  );
  t.equal(fake.args(), '-m no -t 1900000000');
});

t.test('an rtcwake that cannot start: "Failed to execute rtcwake"', async (t) => {
  const { actions } = rig(t, { rtcwake: '/nonexistent/rtcwake' });
  const err = await actions.rtcwake(1_900_000_000).then(
    () => null,
    (e: unknown) => e,
  );
  t.type(err, RtcwakeError);
  t.match((err as Error).message, /^Failed to execute rtcwake: .*ENOENT/);
});

t.test('a hanging rtcwake is killed at its timeout and reported as timed out', async (t) => {
  // Ends only when killed: the timeout (not the machine's speed) decides the outcome.
  const fake = fakeRtcwake("trap '' TERM; exec sleep 1000"); // deaf to SIGTERM: only a SIGKILL ends it
  const { actions } = rig(t, { rtcwake: fake.program, rtcwakeTimeoutMs: 300 });
  await t.rejects(actions.rtcwake(1_900_000_000), new RtcwakeError('rtcwake failed: timed out after 0.3 s'));
});

t.test('on the simulator, rtcwake sets the simulated RTC alarm and runs nothing', async (t) => {
  const sim = new SimulatedController({ clock: new FakeClock(), start: 'host-running' });
  const fake = fakeRtcwake('exit 0');
  const { actions, lines } = rig(t, { simulator: sim, rtcwake: fake.program });
  await actions.rtcwake(1_900_000_000);
  t.equal(sim.snapshot().host.rtc_alarm, 1_900_000_000);
  t.equal(fake.args(), '(not run)');
  t.same(lines, [`info Simulator: not executing ${fake.program} -m no -t 1900000000`]);
});

t.test('on the simulator with sim-execute-commands, both commands really run', async (t) => {
  const sim = new SimulatedController({ clock: new FakeClock(), start: 'host-running' });
  const fake = fakeRtcwake('exit 0');
  const file = marker();
  const { actions, waitLine } = rig(t, { simulator: sim, rtcwake: fake.program, simExecuteCommands: true });
  await actions.rtcwake(1_900_000_000);
  t.equal(fake.args(), '-m no -t 1900000000');
  t.equal(sim.snapshot().host.rtc_alarm, null, 'the simulated alarm is left alone');
  actions.poweroff(`touch ${file}`);
  await waitLine(/Poweroff command exited with code 0/);
  t.ok(existsSync(file));
  t.equal(sim.snapshot().host.cm_on, true, 'the simulated host is not halted');
});

t.test('a spawn that throws for another reason than descriptors: no retry, the failure reported', async (t) => {
  let n = 0;
  const spawn: SpawnFn = () => {
    n++;
    throw Object.assign(new Error('spawn /bin/sh EACCES'), { code: 'EACCES' });
  };
  const { actions, failures, lines, waitFailures } = rig(t, { spawn, fallback: 'true' });
  actions.poweroff('/sbin/poweroff');
  await waitFailures(2);
  t.equal(n, 2, 'one try each for the command and its fallback: a retry cannot help');
  t.same(failures, ['cannot start: spawn /bin/sh EACCES', 'fallback cannot start: spawn /bin/sh EACCES']);
  t.ok(lines.includes('error Failed to execute poweroff command: spawn /bin/sh EACCES'), lines.join('\n'));
  t.ok(lines.includes('error Failed to execute poweroff fallback: spawn /bin/sh EACCES'), lines.join('\n'));
});

t.test('a hung poweroff command that ends later says how it ended', async (t) => {
  const clock = new FakeClock();
  const { actions, waitLine } = rig(t, { clock, timeoutS: 5 });
  // Exits 5 when told to (SIGUSR1), after its timeout has passed.
  actions.poweroff('trap "exit 5" USR1; echo $$; while :; do sleep 0.05; done');
  const pid = Number((await waitLine(/^info poweroff: \d+$/)).split(' ').at(-1));
  await clock.advance(5000);
  await waitLine(/No poweroff-fallback is configured/);
  process.kill(pid, 'SIGUSR1');
  t.equal(await waitLine(/ended after its timeout/), 'info Poweroff command ended after its timeout (code 5)');

  const second = rig(t, { clock, timeoutS: 5 });
  second.actions.poweroff('echo $$; exec sleep 1000');
  const pid2 = Number((await second.waitLine(/^info poweroff: \d+$/)).split(' ').at(-1));
  await clock.advance(5000);
  await second.waitLine(/No poweroff-fallback is configured/);
  process.kill(pid2, 'SIGKILL');
  t.equal(
    await second.waitLine(/ended after its timeout/),
    'info Poweroff command ended after its timeout (signal SIGKILL)',
  );
});

t.test('after an out-of-descriptors retry the reserve is taken again at once, for the fallback', async (t) => {
  const open = (): number => readdirSync('/proc/self/fd').length;
  const before = open();
  const running = new EventEmitter() as ChildProcess;
  let n = 0;
  const spawn: SpawnFn = () => (++n === 1 ? exhaustedChild() : running);
  const { actions, lines, waitLine } = rig(t, { spawn, reserveFds: 1 });
  t.equal(open(), before + 1);
  actions.poweroff('/sbin/poweroff');
  // The logged count is how many descriptors were freed: one, singular.
  t.equal(
    await waitLine(/retrying/),
    'error Poweroff command could not start (spawn /bin/sh EMFILE); retrying with 1 reserved file descriptor freed',
  );
  t.equal(open(), before + 1, 'held again while the retried command still runs');
  running.emit('spawn');
  running.emit('close', 0, null);
  await waitLine(/Poweroff command exited with code 0/);
  t.equal(n, 2);
  t.same(lines.length, 3, lines.join('\n'));
});

t.test('an error on the output pipe neither crashes nor fails the poweroff: its exit decides', async (t) => {
  const child = Object.assign(new EventEmitter(), {
    stdout: new EventEmitter(),
    stderr: new EventEmitter(),
  }) as unknown as ChildProcess;
  const { actions, failures, lines, waitLine } = rig(t, { spawn: () => child });
  actions.poweroff('/sbin/poweroff');
  child.emit('spawn');
  child.stdout!.emit('data', Buffer.from('syncing\n'));
  // An EventEmitter with no 'error' listener throws: the daemon would crash here.
  child.stdout!.emit('error', new Error('read EPIPE'));
  child.stderr!.emit('error', new Error('read EPIPE'));
  // An error after the start (a failed kill) is not a failure to start either.
  child.emit('error', new Error('kill EPERM'));
  child.emit('close', 0, null);
  await waitLine(/Poweroff command exited with code 0/);
  await flushMicrotasks();
  t.same(failures, []);
  t.same(lines, [
    'info Executing: /sbin/poweroff',
    'info poweroff: syncing',
    'info Poweroff command exited with code 0',
  ]);
});
