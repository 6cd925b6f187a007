// Engine: what a client's request leaves in the log and the events — a setting written, a
// shutdown or standby asked for (or only logged in a dry run), a firmware upload.
import t from 'tap';
import { HttpCounters, renderMetrics } from '../../engine/api/metrics.js';
import { CONFIG_REGISTERS } from '../../engine/device.js';
import type { FlashProgress } from '../../engine/dfu.js';
import { engineRig } from '../helpers/engine.js';
import { firmwareImage } from '../helpers/firmware.js';

/** Run simulated time until the promise settles (the upload's steps wait on the fake clock). */
async function settle<T>(clock: ReturnType<typeof engineRig>['clock'], p: Promise<T>): Promise<T> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await clock.advanceUntil(() => settled, 60_000, 100);
  return p;
}

const messages = (rec: ReturnType<typeof engineRig>['rec'], prefix: string) =>
  rec.logs.filter((l) => l.message.startsWith(prefix)).map((l) => `${l.level} ${l.message}`);

t.test('a setting written is logged old → new with who asked; an unread old value says so', async (t) => {
  const { clock, sim, engine, rec, stop } = engineRig();
  const old = await engine.readConfigKey('led_brightness');
  await engine.writeConfigRaw('led_brightness', old + 10, 'the panel');
  sim.addFault({ kind: 'nack', op: 'read', registers: [0x17], count: 0 });
  const p = engine.writeConfigRaw('led_brightness', 7);
  await clock.advance(200);
  await p;
  sim.faults.clear();
  t.same(messages(rec, 'Setting '), [
    `info Setting led_brightness changed by the panel: ${old} → ${old + 10}`,
    'info Setting led_brightness changed by a client: (unread) → 7',
  ]);
  t.equal(await engine.readConfigKey('led_brightness'), 7, 'the write went out although the read before failed');
  await stop();
});

t.test('GET /config with no setting readable: each key its fallback, auto_restart off', async (t) => {
  const { clock, sim, engine, stop } = engineRig();
  sim.addFault({ kind: 'nack', registers: Object.values(CONFIG_REGISTERS).map((c) => c.reg), count: 0 });
  t.same(await settle(clock, engine.readConfig()), {
    watchdog_timeout: 0,
    power_on_threshold: 0,
    solo_power_off_threshold: 0,
    led_brightness: 0,
    auto_restart: false,
    solo_depleting_timeout: 0,
  });
  sim.faults.clear();
  await stop();
});

t.test('a watchdog timeout written shows in /metrics at once, before any status read', async (t) => {
  const { engine, stop } = engineRig();
  await engine.writeConfigRaw('watchdog_timeout', 30_000);
  const metrics = renderMetrics(engine, new HttpCounters(), { version: 'x', dialect: 5 });
  t.match(metrics, /^halpi_watchdog_timeout_seconds 30$/m);
  await engine.writeConfigRaw('led_brightness', 9);
  t.equal(engine.status.watchdogMs, 30_000, 'another setting leaves it');
  await stop();
});

t.test('shutdown and standby requests are logged; a dry run logs the command it would run', async (t) => {
  const { clock, engine, rec, stop } = engineRig({ haltOnPoweroff: false });
  engine.updateSettings({ dryRun: true });
  await engine.requestShutdown();
  await engine.requestStandby(2e9, '2033-05-18 03:33:20');
  t.same(messages(rec, 'Dry run'), [
    'info Dry run: would request shutdown and execute harmless-poweroff',
    'info Dry run: would set the wake-up alarm to 2033-05-18 03:33:20, request standby and execute harmless-poweroff',
  ]);
  engine.updateSettings({ dryRun: false });
  await engine.requestStandby(2e9, 'the alarm');
  await clock.advance(100);
  t.same(messages(rec, 'Standby'), ['info Standby requested over the API, wake-up at the alarm']);
  t.same(rec.rtcwake, [2e9]);
  t.same(
    rec.poweroff.map((p) => p.command),
    ['harmless-poweroff'],
  );
  await stop();
  const second = engineRig({ haltOnPoweroff: false });
  await second.engine.requestShutdown();
  t.same(messages(second.rec, 'Shutdown'), ['info Shutdown requested over the API']);
  await second.stop();
});

t.test('an empty poweroff command: the controller is asked, nothing is run, the warning says why', async (t) => {
  const { clock, sim, engine, rec, stop } = engineRig({ settings: { poweroffCommand: '' } });
  const events: unknown[] = [];
  engine.on('shutdown', (e) => events.push(e));
  await engine.requestShutdown();
  await clock.advance(50);
  t.equal(sim.state, 'ManualShutdown');
  t.same(rec.poweroff, [], 'no command run');
  t.same(messages(rec, 'Dry-run mode'), ['warn Dry-run mode: poweroff command is empty']);
  t.same(events, [{ command: '', kind: 'shutdown', source: 'api', wakeup: null }]);
  await stop();
});

t.test('a firmware upload: its log lines, its progress tagged for its client, the flag while it runs', async (t) => {
  const { clock, engine, rec, stop } = engineRig();
  const progress: Array<FlashProgress & { upload?: string }> = [];
  engine.on('flash', (p) => progress.push(p));
  const during: boolean[] = [];
  engine.on('flash', () => during.push(engine.flashInProgress));
  t.notOk(engine.flashInProgress);
  await settle(clock, engine.flash(firmwareImage({ bytes: 5000 }), { tag: 'u1' }));
  t.same(messages(rec, 'Firmware'), [
    'info Firmware update committed; it takes effect after the next full power cycle',
  ]);
  t.same(messages(rec, 'Starting'), ['info Starting firmware update (5000 bytes, 2 blocks)']);
  t.same(
    progress.map((p) => [p.phase, p.upload]),
    [
      ['start', 'u1'],
      ['block', 'u1'],
      ['block', 'u1'],
      ['verify', 'u1'],
      ['done', 'u1'],
    ],
  );
  t.ok(
    during.every((d) => d),
    'in progress while its events come',
  );
  t.notOk(engine.flashInProgress, 'and not after');
  // Untagged: the events carry no upload field.
  progress.length = 0;
  await settle(clock, engine.flash(firmwareImage({ bytes: 4096 })));
  t.same(progress[0], { phase: 'start', blocks: 1, bytes: 4096 });
  await stop();
});

t.test('a failed upload is logged and published with its error; the next upload still runs', async (t) => {
  const { clock, sim, engine, rec, stop } = engineRig();
  const progress: Array<FlashProgress & { upload?: string }> = [];
  engine.on('flash', (p) => progress.push(p));
  // The first status read of 0x41 fails in all four attempts; the next upload finds the bus well.
  sim.addFault({ kind: 'nack', registers: [0x41], count: 4 });
  const failed = engine.flash(firmwareImage({ bytes: 5000 }), { tag: 'bad' });
  const next = engine.flash(firmwareImage({ bytes: 4096, seed: 3 }), { tag: 'good' });
  const message = await settle(
    clock,
    failed.then(
      () => 'committed',
      (e: Error) => e.message,
    ),
  );
  t.equal(message, 'Failed to read from register 0x41');
  t.same(messages(rec, 'Firmware update failed'), [`error Firmware update failed: ${message}`]);
  t.same(
    progress.find((p) => p.phase === 'error'),
    { phase: 'error', error: message, upload: 'bad' },
  );
  await settle(clock, next);
  t.same(progress.at(-1), { phase: 'done', upload: 'good' }, 'the upload queued behind it ran');
  await stop();
});

t.test('after an upload the identity is read from the controller again', async (t) => {
  const { clock, sim, engine, stop } = engineRig();
  const read = async () => {
    const p = engine.readValues();
    await clock.advance(100);
    return p;
  };
  t.equal((await read()).device_id, '0123456789abcdef');
  sim.setIdentity({ device_id: 'fedcba9876543210' });
  t.equal((await read()).device_id, '0123456789abcdef', 'kept while the controller runs');
  await settle(clock, engine.flash(firmwareImage({ bytes: 4096 })));
  t.equal((await read()).device_id, 'fedcba9876543210');
  await stop();
});

t.test('stopping while a read hangs: no silence announced after the stop, no timer left behind', async (t) => {
  const { clock, sim, engine, rec, stop } = engineRig({ sim: { start: 'host-running' } });
  engine.start();
  await clock.advanceUntil(() => engine.state === 'OK', 1000);
  await clock.advance(50);
  sim.addFault({ kind: 'stretch', op: 'read', delay_ms: 3000, count: 1 });
  await clock.advance(60); // the next tick's read hangs; the guard that would announce it is armed
  t.equal(clock.pending > 1, true, 'a guard beside the hanging read');
  const result = await settle(clock, engine.stop());
  t.same(result, { watchdogDisabled: true }, 'disarmed once the hanging read ended');
  t.same(
    rec.logs.filter((l) => l.message.startsWith('Controller not answering')),
    [],
    'the stopped engine announces nothing',
  );
  await clock.advance(5000);
  t.equal(clock.pending, 0, 'no timer of the engine left');
  void stop;
});

t.test('stopping during a flash whose abort fails still disarms the watchdog', async (t) => {
  const { clock, sim, engine, stop } = engineRig();
  engine.start();
  await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
  const f = engine.flash(firmwareImage({ bytes: 20 * 4096 })).catch((e: Error) => e.message);
  await clock.advance(1000);
  t.ok(engine.flashInProgress);
  sim.addFault({ kind: 'nack', op: 'write', registers: [0x45], count: 0 });
  t.same(await stop(), { watchdogDisabled: true });
  t.equal(sim.snapshot().controller.watchdog_ms, 0);
  sim.faults.clear();
  await clock.advance(1000);
  t.equal(await f, 'Firmware update aborted');
});

t.test('an engine on a bus without a simulator behind it (the i2c backend) starts, ticks and stops', async (t) => {
  const { clock, sim, engine, rec, stop } = engineRig({ engine: { simulator: undefined, backend: 'i2c' } });
  const polls: number[] = [];
  engine.on('values', () => polls.push(clock.now()));
  engine.start();
  await clock.advance(1000);
  t.equal(engine.state, 'OK');
  t.equal(sim.state, 'OperationalCoOp', 'the watchdog armed');
  t.ok(polls.length >= 1, 'measurements read');
  t.same(await stop(), { watchdogDisabled: true });
  t.same(
    rec.logs.filter((l) => l.message.startsWith('Simulated')),
    [],
    'nothing said about a simulated host',
  );
});

/** Where in the bus log since `mark` each client's readConfig began (its read of 0x13). */
const configStarts = (ops: Array<{ kind: string; register?: number }>) =>
  ops.flatMap((e, i) => (e.kind === 'read' && e.register === 0x13 ? [i] : []));

t.test('stop disarms right after the operation in progress, before requests queued for the bus', async (t) => {
  const { clock, sim, engine } = engineRig();
  engine.start();
  await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
  await clock.advance(50); // between two ticks
  const mark = sim.log.length;
  // Three clients want the bus (each reads the six settings) when the daemon is told to stop.
  const queued = [engine.readConfig(), engine.readConfig(), engine.readConfig()];
  const stopped = engine.stop();
  await clock.advance(200);
  t.same(await stopped, { watchdogDisabled: true });
  await Promise.all(queued);
  const ops = sim.log.slice(mark).filter((e) => e.kind === 'read' || e.kind === 'write');
  const disarmAt = ops.findIndex((e) => e.kind === 'write' && e.register === 0x12);
  const starts = configStarts(ops);
  t.equal(starts.length, 3);
  t.ok(disarmAt > starts[0]! && disarmAt < starts[1]!, `disarmed (${disarmAt}) before the queued reads (${starts[1]})`);
});

t.test('stop during a flash sends the DFU abort before requests queued for the bus', async (t) => {
  const { clock, sim, engine } = engineRig();
  engine.start();
  await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
  const f = engine.flash(firmwareImage({ bytes: 20 * 4096 })).catch((e: Error) => e.message);
  await clock.advance(500);
  t.ok(engine.flashInProgress);
  const mark = sim.log.length;
  const queued = [engine.readConfig(), engine.readConfig(), engine.readConfig()];
  const stopped = engine.stop();
  await clock.advance(1000);
  t.same(await stopped, { watchdogDisabled: true });
  await Promise.all(queued);
  t.equal(await f, 'Firmware update aborted');
  const ops = sim.log.slice(mark).filter((e) => e.kind === 'read' || e.kind === 'write');
  const abortAt = ops.findIndex((e) => e.kind === 'write' && e.register === 0x45);
  const starts = configStarts(ops);
  t.ok(abortAt > starts[0]! && abortAt < starts[1]!, `the abort (${abortAt}) before the queued reads (${starts[1]})`);
});
