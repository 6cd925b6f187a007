// The plugin's engine mode on the hardware path: the built plugin, loaded with require() as the
// Signal K server loads it, drives the emulated /dev/i2c-1 through the real i2c-bus addon —
// values published, a blackout to the poweroff command, a clean stop, the documented shapes.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/daemon.js';
import { oddTransfers, startEmulator } from '../helpers/i2c-emulator.js';

t.test('engine mode through the emulator: values, a blackout to the shutdown, a clean stop', async (t) => {
  const emu = await startEmulator();
  t.teardown(emu.close);
  const mark = join(emu.dir, 'poweroff-ran');
  const child = spawn(process.execPath, [join(ROOT, 'test/helpers/plugin-engine-probe.cjs'), ROOT, mark], {
    env: { ...process.env, NODE_OPTIONS: '', ...emu.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{
    test: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }> = [];
  let buf = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  child.stdout.on('data', (c: Buffer) => {
    buf += c.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = JSON.parse(buf.slice(0, i)) as Record<string, unknown>;
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of [...waiters])
        if (w.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
    }
  });
  // A bounded wait for an event, so a regression fails with what the plugin said instead of hanging.
  const next = (test: (l: Record<string, unknown>) => boolean) => {
    const seen = lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const guard = setTimeout(
        () =>
          reject(
            new Error(
              `no such line within 30 s:\n${lines
                .slice(-20)
                .map((l) => JSON.stringify(l))
                .join('\n')}\n${stderr}`,
            ),
          ),
        30_000,
      );
      waiters.push({
        test,
        resolve: (l) => {
          clearTimeout(guard);
          resolve(l);
        },
      });
    });
  };
  const vin = await next(
    (l) => typeof l.value === 'string' && (l.value as string).endsWith('dcInputVoltage') && typeof l.v === 'number',
  );
  t.ok(Math.abs((vin.v as number) - 12) < 0.1, `input voltage ${vin.v} V published`);
  const status = await next(
    (l) =>
      typeof l.status === 'string' &&
      /^Controlling HALPI2 on \/dev\/i2c-1 \(firmware 3\.3\.1\)$/.test(l.status as string),
  );
  t.ok(status, 'the status names the device and the firmware');
  t.equal(emu.sim.snapshot().controller.watchdog_ms, 60_000, 'the plugin armed the 60 s watchdog');
  t.notOk(
    lines.some((l) => l.error),
    `no errors: ${JSON.stringify(lines.filter((l) => l.error))} ${stderr}`,
  );

  emu.sim.setPower(false);
  // The supervisor runs the poweroff command and sends the shutdown request side by side: wait
  // for both, in either order.
  const shutdownSent = (): boolean =>
    emu.server.transcript.some((e) => e.via === 'write' && e.msgs[0]!.data === '3001');
  for (let i = 0; !(existsSync(mark) && shutdownSent()); i++) {
    if (i > 1200) {
      throw new Error(`after the cut: poweroff ran ${existsSync(mark)}, shutdown request sent ${shutdownSent()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  t.ok(existsSync(mark), 'the poweroff command ran');
  t.ok(shutdownSent(), 'the shutdown request went to the controller');
  child.stdin.write('stop\n');
  await next((l) => l.stopped === true);
  t.same(
    oddTransfers(emu.server.transcript),
    [],
    `all ${emu.server.transcript.length} transfers have a documented shape`,
  );
});

t.test(
  "a server that exits without stopping the plugin: the exit hook disarms the controller's watchdog",
  async (t) => {
    const emu = await startEmulator();
    t.teardown(emu.close);
    const child = spawn(
      process.execPath,
      [join(ROOT, 'test/helpers/plugin-engine-probe.cjs'), ROOT, join(emu.dir, 'poweroff-ran')],
      {
        env: { ...process.env, NODE_OPTIONS: '', ...emu.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    t.teardown(() => {
      child.kill('SIGKILL');
    });
    let out = '';
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    // The watchdog armed: the plugin's status names the controller (bounded: a hang fails).
    await new Promise<void>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error(`no status within 30 s:\n${out}\n${stderr}`)), 30_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (/"status":"Controlling HALPI2/.test(out) && emu.sim.snapshot().controller.watchdog_ms === 60_000) {
          clearTimeout(guard);
          resolve();
        }
      });
      void closed.then(() => reject(new Error(`the probe exited early:\n${out}\n${stderr}`)));
    });
    t.equal(emu.sim.snapshot().controller.watchdog_ms, 60_000, 'armed while the plugin runs');
    child.stdin.write('exit\n');
    t.equal(await closed, 0);
    t.notMatch(out, /"stopped":true/, 'the plugin was never stopped');
    t.equal(emu.sim.snapshot().controller.watchdog_ms, 0, "the exit hook's synchronous write disarmed it");
    t.ok(
      emu.server.transcript.some((e) => e.via === 'write' && e.msgs[0]!.data === '120000'),
      'a plain write of 0 to register 0x12',
    );
  },
);
