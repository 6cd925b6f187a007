// The emulated /dev/i2c-1 (native/i2c-emulator, LD_PRELOAD): every system call it supports,
// checked at the system-call level with a small C program and through the real i2c-bus addon,
// the kernel's errno for NACKs and timeouts, and a simulator socket that goes away.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers/daemon.js';
import { startEmulator } from '../helpers/i2c-emulator.js';
import { tempDir } from '../helpers/tmp.js';

const ENGINE_I2C = join(ROOT, 'dist/engine/i2c-bus.js'); // npm run build (tsc) made it

t.test("system calls: open, access, every ioctl, read/write/pread/pwrite/writev, the kernel's limits", async (t) => {
  const emu = await startEmulator();
  t.teardown(emu.close);
  const exe = join(tempDir('i2c-probe-'), 'probe');
  const cc = spawnSync('cc', ['-O1', '-Wall', '-o', exe, join(ROOT, 'test/native/i2c-probe.c')], { encoding: 'utf8' });
  t.equal(cc.status, 0, cc.stderr);
  const r = await emu.run(exe, []);
  t.equal(r.code, 0, r.stderr);
  const steps = new Map(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => {
        const [name, rc, errno, data] = l.split(' ');
        return [name!, { rc: Number(rc), errno, data }];
      }),
  );
  const step = (name: string) => {
    const s = steps.get(name);
    if (!s) throw new Error(`no step ${name}:\n${r.stdout}`);
    return s;
  };
  t.ok(step('open')!.rc >= 0, 'open("/dev/i2c-1") gives a descriptor');
  t.same(step('access'), { rc: 0, errno: '0', data: '' }, 'access() says the node exists');
  t.match(step('slave-too-high'), { rc: -1, errno: 'EINVAL' }, 'I2C_SLAVE above 0x7F: EINVAL');
  t.match(step('slave'), { rc: 0 }, 'I2C_SLAVE');
  t.match(step('slave-force'), { rc: 0 }, 'I2C_SLAVE_FORCE');
  t.same(
    step('funcs'),
    { rc: 0, errno: '0', data: 'f7e0001' },
    'I2C_FUNCS: plain I2C and the SMBus emulation, as i2c-designware',
  );
  t.match(step('unknown-ioctl'), { rc: -1, errno: 'ENOTTY' });
  t.same(
    step('rdwr'),
    { rc: 2, errno: '0', data: '030301ff' },
    'I2C_RDWR write+read: the firmware version, 2 messages',
  );
  t.match(step('rdwr-43'), { rc: -1, errno: 'EINVAL' }, 'more than 42 messages');
  t.match(step('rdwr-8193'), { rc: -1, errno: 'EINVAL' }, 'a message over 8192 bytes');
  t.same(
    step('smbus-i2c-block-read'),
    { rc: 0, errno: '0', data: '30' },
    'I2C_SMBUS I2C block read: LED brightness 48',
  );
  t.match(step('smbus-byte-write'), { rc: 0 });
  t.same(step('smbus-word-read'), { rc: 0, errno: '0', data: '0000' }, 'I2C_SMBUS word read: the watchdog is off');
  t.match(step('smbus-block-33'), { rc: -1, errno: 'EINVAL' }, 'an I2C block longer than 32 bytes');
  t.match(
    step('smbus-block-data-read'),
    { rc: -1, errno: 'EOPNOTSUPP' },
    'SMBus block reads need I2C_M_RECV_LEN, not emulated',
  );
  t.match(step('smbus-quick'), { rc: 0 });
  t.match(step('write-1'), { rc: 1 }, 'a one-byte write is sent (the controller discards it)');
  t.match(step('write-9000'), { rc: 8192 }, 'write() is capped at 8192 bytes, as i2c-dev does');
  t.match(step('pwrite'), { rc: 2 }, 'pwrite ignores the offset (node writes at position 0)');
  t.same(step('read'), { rc: 3, errno: '0', data: '000000' }, 'a plain read: zeros, no register pointer');
  t.same(step('pread'), { rc: 2, errno: '0', data: '0000' });
  t.match(step('writev'), { rc: 4 }, 'writev: one write per piece');
  t.match(step('write-50'), { rc: -1, errno: 'EREMOTEIO' }, 'nobody at 0x50: the address NACK');
  t.match(step('open-i2c-2'), { rc: -1, errno: 'ENOENT' }, 'other nodes pass through to the real system');
  t.match(step('write-null'), { rc: 2 }, 'other descriptors pass through');
  t.match(step('close'), { rc: 0 });

  const shapes = emu.server.transcript.map(
    (e) => `${e.via} ${e.msgs.map((m) => `${m.dir}${m.len}:${m.data.slice(0, 8)}`).join(' ')} ${e.result}`,
  );
  t.same(
    shapes,
    [
      'rdwr w1:04 r4:030301ff ok',
      'smbus w1:17 r1:30 ok',
      'smbus w2:1721 ok',
      'smbus w1:12 r2:0000 ok',
      'smbus w0: ok',
      'write w1:17 ok',
      'write w8192:43000000 ok',
      'write w2:1730 ok',
      'read r3:000000 ok',
      'read r2:0000 ok',
      'write w2:1731 ok',
      'write w2:1732 ok',
      'write w2:1730 EREMOTEIO',
    ],
    'the transcript: every transfer on the bus and how it got there; refused calls never reach it',
  );
  t.equal(emu.server.transcript.at(-1)!.msgs[0]!.addr, 0x50);
  t.equal(emu.sim.snapshot().controller.led_brightness, 0x32, 'the writes reached the simulated controller');
});

t.test('the i2c-bus addon through the emulator: its sync and async calls, scan, and forceAccess', async (t) => {
  const emu = await startEmulator();
  t.teardown(emu.close);
  const script = `
    const i2c = require('i2c-bus');
    const out = {};
    const bus = i2c.openSync(1);
    out.funcs = bus.i2cFuncsSync().i2c;
    const b = Buffer.alloc(4);
    out.block = bus.readI2cBlockSync(0x6d, 0x04, 4, b) + ':' + b.toString('hex');
    out.byte = bus.readByteSync(0x6d, 0x17);
    bus.writeByteSync(0x6d, 0x17, 0x40);
    out.word = bus.readWordSync(0x6d, 0x17);
    out.written = bus.i2cWriteSync(0x6d, 3, Buffer.from([0x12, 0x27, 0x10]));
    out.read = bus.i2cReadSync(0x6d, 2, Buffer.alloc(2));
    out.scan = bus.scanSync();
    bus.closeSync();
    (async () => {
      const p = await i2c.openPromisified(1, { forceAccess: true });
      const r = await p.readI2cBlock(0x6d, 0x12, 2, Buffer.alloc(2));
      out.async = r.bytesRead + ':' + r.buffer.toString('hex');
      out.asyncWrite = (await p.i2cWrite(0x6d, 3, Buffer.from([0x12, 0, 0]))).bytesWritten;
      await p.close();
      console.log(JSON.stringify(out));
    })();`;
  const r = await emu.run(process.execPath, ['-e', script]);
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.same(out, {
    funcs: true,
    block: '4:030301ff',
    byte: 48,
    word: 0x40, // SMBus words are little-endian: [0x40, 0x00 fill]
    written: 3,
    read: 2,
    scan: [0x6d],
    async: '2:2710',
    asyncWrite: 3,
  });
  const vias = new Set(emu.server.transcript.map((e) => e.via));
  t.same(
    [...vias].sort(),
    ['read', 'smbus', 'write'],
    'i2c-bus uses I2C_SMBUS for register calls, read()/write() for raw ones',
  );
  t.equal(emu.sim.snapshot().controller.watchdog_ms, 0, 'the watchdog was armed (10000 ms) and disarmed again');
  t.ok(
    emu.server.transcript.some((e) => e.msgs[0]?.data === '122710'),
    'the arming write went through',
  );
});

t.test('NACKs and timeouts come back as the kernel reports them, and LinuxI2cBus maps them', async (t) => {
  const emu = await startEmulator();
  t.teardown(emu.close);
  emu.sim.addFault({ kind: 'nack', op: 'read', registers: [0x20] });
  emu.sim.addFault({ kind: 'timeout', op: 'read', registers: [0x21], delay_ms: 1 });
  emu.sim.addFault({ kind: 'nack', op: 'write', registers: [0x17] });
  emu.sim.addFault({ kind: 'timeout', op: 'write', registers: [0x18], delay_ms: 1 });
  const script = `
    import { LinuxI2cBus } from ${JSON.stringify(ENGINE_I2C)};
    const bus = await LinuxI2cBus.open(1, 0x6d);
    const out = [];
    const attempt = async (f) => { try { await f(); out.push('ok'); } catch (e) { out.push(e.kind + ' ' + e.message); } };
    await attempt(() => bus.writeRead(Uint8Array.of(0x20), 2));
    await attempt(() => bus.writeRead(Uint8Array.of(0x21), 2));
    await attempt(() => bus.write(Uint8Array.of(0x17, 1)));
    await attempt(() => bus.write(Uint8Array.of(0x18, 1)));
    await attempt(() => bus.writeRead(Uint8Array.of(0x20), 2));
    await bus.close();
    console.log(JSON.stringify(out));`;
  const r = await emu.run(process.execPath, ['--input-type=module', '-e', script]);
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout), [
    'nack readI2cBlock: Remote I/O error (EREMOTEIO)',
    'timeout readI2cBlock: Connection timed out (ETIMEDOUT)',
    'nack EREMOTEIO: remote I/O error, write',
    'timeout ETIMEDOUT: connection timed out, write',
    'ok',
  ]);
  t.same(
    emu.server.transcript.map((e) => e.result),
    ['EREMOTEIO', 'ETIMEDOUT', 'EREMOTEIO', 'ETIMEDOUT', 'ok'],
    "one transfer per call (the open's I2C_FUNCS is none), each with the errno the caller got",
  );
});

t.test(
  'the simulator socket goes away: open fails with ENODEV, an open descriptor with EIO, nothing hangs',
  async (t) => {
    const emu = await startEmulator();
    const script = `
    import { LinuxI2cBus } from ${JSON.stringify(ENGINE_I2C)};
    import { createInterface } from 'node:readline';
    const bus = await LinuxI2cBus.open(1, 0x6d);
    console.log('read ' + Buffer.from(await bus.writeRead(Uint8Array.of(0x04), 4)).toString('hex'));
    const lines = createInterface({ input: process.stdin });
    for await (const _ of lines) break;
    try { await bus.writeRead(Uint8Array.of(0x04), 4); console.log('still answered'); } catch (e) { console.log('after ' + e.kind + ' ' + e.message); }
    try { await LinuxI2cBus.open(1, 0x6d); } catch (e) { console.log('open ' + e.message); }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, NODE_OPTIONS: '', ...emu.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve();
      }),
    );
    t.equal(out, 'read 030301ff\n');
    await emu.close();
    child.stdin.end('go\n');
    t.equal(await closed, 0, err);
    t.match(out, /^after io readI2cBlock: Input\/output error \(EIO\)$/m, 'the open descriptor: EIO');
    t.match(
      out,
      /^open Failed to open I2C device at bus 1, address 0x6D: ENODEV: no such device, open '\/dev\/i2c-1'$/m,
      'a new open: ENODEV',
    );
  },
);
