// DFU: the host sequence against the simulated controller (docs/controller.md).
import t from 'tap';
import crc32 from 'crc-32';
import type { Bus } from '../../../engine/bus.js';
import { Device } from '../../../engine/device.js';
import { blockMessage, uploadFirmware, type DfuTimings, type FlashProgress } from '../../../engine/dfu.js';
import { firmwareImage } from '../../helpers/firmware.js';
import { rig } from '../../helpers/sim.js';

type Rig = ReturnType<typeof rig>;

function image(bytes: number): Uint8Array {
  const img = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) img[i] = (i * 7 + 3) & 0xff;
  return img;
}

/** Run an upload to completion on simulated time; returns its error (or null) and progress. */
async function flash(r: Rig, img: Uint8Array, bus: Bus = r.sim, limitMs = 120_000, timings?: Partial<DfuTimings>) {
  const device = new Device(bus, r.clock);
  const progress: FlashProgress[] = [];
  let done = false;
  let error: Error | null = null;
  uploadFirmware(img, { clock: r.clock, exclusive: (fn) => fn(device), onProgress: (p) => progress.push(p), timings })
    .catch((e: Error) => {
      error = e;
    })
    .finally(() => {
      done = true;
    });
  await r.clock.advanceUntil(() => done, limitMs, 50);
  return { error: error as Error | null, progress };
}

const writesTo = (r: Rig, reg: number) => r.sim.log.filter((e) => e.kind === 'write' && e.register === reg);

t.test('block message format and CRC match the documented vectors', async (t) => {
  t.equal(
    Buffer.from(blockMessage(1, Uint8Array.of(0xde, 0xad, 0xbe, 0xef))).toString('hex'),
    '6b0d0e5b00010004deadbeef',
  );
  t.equal(Buffer.from(blockMessage(0, Buffer.from('testdata'))).toString('hex'), '3cca8d40000000087465737464617461');
  t.throws(() => blockMessage(0, new Uint8Array(4097)), { message: 'Invalid block size 4097 (max: 4096)' });
});

t.test('happy path: start, blocks, verify, commit; the staged image holds the data', async (t) => {
  const r = rig({ sectorEraseMs: 30, blockProgramMs: 10 });
  await r.clock.advance(31_000); // past the boot's mark-good step
  const img = image(10_000);
  const { error, progress } = await flash(r, img);
  t.equal(error, null);
  t.same(
    progress.map((p) => p.phase),
    ['start', 'block', 'block', 'block', 'verify', 'done'],
  );
  t.same(progress[0], { phase: 'start', blocks: 3, bytes: 10_000 });
  t.same(progress[3], { phase: 'block', block: 3, blocks: 3 });
  const snap = r.sim.snapshot().controller;
  t.equal(snap.pending_swap, true, 'commit marked the swap');
  t.equal(snap.dfu_status, 0, 'status Idle after a successful commit');
  t.equal(snap.state, 'OperationalSolo', 'the controller does not reboot on commit');
  const staged = r.sim.dfu.staged;
  t.same([...staged.get(2)!.subarray(0, 10_000 - 8192)], [...img.subarray(8192)], 'last block data');
  t.equal(staged.get(2)![4095], 0, 'zero-padded to 4096');
  t.equal(writesTo(r, 0x45).length, 0, 'no abort');
  const regs = r.sim.log.filter((e) => e.kind === 'write').map((e) => e.register);
  t.same(regs, [0x40, 0x43, 0x43, 0x43, 0x44], 'writes in the DFU sequence order: start, blocks, commit');
});

t.test(
  'CRC error on the wire: fails with DFU error state: CrcError, aborts, never commits; the latch survives abort',
  async (t) => {
    const r = rig();
    // Line noise: one data bit flips in block 1 on its way to the controller.
    const noisy: Bus = {
      description: 'noisy',
      writeRead: (d, n) => r.sim.writeRead(d, n),
      write: (d) => {
        if (d[0] === 0x43 && d[6] === 1) {
          const copy = Uint8Array.from(d);
          copy[20] = copy[20]! ^ 0x01;
          return r.sim.write(copy);
        }
        return r.sim.write(d);
      },
      close: async () => {},
    };
    const { error } = await flash(r, image(9000), noisy);
    t.match(error?.message, /^DFU error state: CrcError$/);
    t.equal(writesTo(r, 0x45).length, 1, 'aborted');
    t.equal(writesTo(r, 0x44).length, 0, 'never committed');
    t.equal(r.sim.snapshot().controller.dfu_status, 5, 'CrcError stays latched after the abort');
    await r.write(0x40, 0, 0, 0x10, 0);
    t.equal(r.sim.snapshot().controller.dfu_status, 2, 'until the next start');
  },
);

t.test('length error: a block whose length field disagrees latches DataLengthError', async (t) => {
  const r = rig();
  const truncating: Bus = {
    description: 'truncating',
    writeRead: (d, n) => r.sim.writeRead(d, n),
    write: (d) => {
      if (d[0] !== 0x43) return r.sim.write(d);
      // Drop the last data byte but keep the length field, with a CRC that matches the bytes sent
      // (as a buggy sender would): only the length check can catch it.
      const out = Uint8Array.from(d.subarray(0, d.length - 1));
      const crc = crc32.buf(out.subarray(5)) >>> 0;
      out.set([crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff], 1);
      return r.sim.write(out);
    },
    close: async () => {},
  };
  const { error } = await flash(r, image(5000), truncating);
  t.ok(error, 'failed');
  t.equal(error!.message, 'DFU error state: DataLengthError');
  t.equal(writesTo(r, 0x44).length, 0, 'never committed');
  t.equal(writesTo(r, 0x45).length, 1, 'aborted');
});

t.test('direct length rules: a too-short block and a length mismatch latch DataLengthError', async (t) => {
  const r = rig();
  await r.write(0x40, 0, 0, 0x10, 0);
  await r.write(0x43, 1, 2, 3, 4, 0, 0, 0, 0); // 9 bytes: no data
  t.equal(r.sim.snapshot().controller.dfu_status, 6);
  await r.write(0x40, 0, 0, 0x10, 0);
  // A correct CRC over a length field of 4 with only 3 data bytes behind it.
  const body = Uint8Array.of(0, 0, 0, 4, 1, 2, 3);
  const crc = crc32.buf(body) >>> 0;
  await r.sim.write(Uint8Array.of(0x43, crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff, ...body));
  t.equal(r.sim.snapshot().controller.dfu_status, 6, 'length mismatch → DataLengthError');
  const before = r.sim.processed;
  await r.sim.write(Uint8Array.from([0x43, ...blockMessage(0, Uint8Array.of(1))]));
  t.equal(r.sim.processed, before, 'blocks are dropped without a ping while a latch is set');
  t.equal(r.sim.snapshot().controller.dfu_blocks_written, 0);
});

t.test('queue full for longer than 30 s: QueueFull seen, then a timeout, abort, no commit', async (t) => {
  const r = rig({ blockProgramMs: 40_000 });
  const seen = new Set<number>();
  const spy: Bus = {
    description: 'spy',
    writeRead: async (d, n) => {
      const out = await r.sim.writeRead(d, n);
      if (d[0] === 0x41) seen.add(out[0]!);
      return out;
    },
    write: (d) => r.sim.write(d),
    close: async () => {},
  };
  const { error } = await flash(r, image(10 * 4096), spy, 200_000);
  t.ok(seen.has(3), 'the host saw QueueFull');
  t.equal(error?.message, 'DFU operation timeout: device did not become ready within the specified time');
  t.equal(writesTo(r, 0x45).length, 1, 'aborted');
  t.equal(writesTo(r, 0x44).length, 0, 'never committed');
});

t.test('an erase that never ends times out the wait for ready', async (t) => {
  const r = rig({ sectorEraseMs: 1000 });
  const started = r.clock.now();
  const { error } = await flash(r, image(100), r.sim, 200_000);
  t.equal(error?.message, 'DFU operation timeout: device did not become ready within the specified time');
  t.ok(r.clock.now() - started > 30_000, 'after more than 30 s');
  t.equal(writesTo(r, 0x45).length, 1);
  t.equal(writesTo(r, 0x44).length, 0);
});

t.test('a session aborted underneath the upload: unexpected Idle', async (t) => {
  const r = rig({ sectorEraseMs: 20 });
  const interfering: Bus = {
    description: 'interfering',
    writeRead: (d, n) => r.sim.writeRead(d, n),
    write: async (d) => {
      await r.sim.write(d);
      if (d[0] === 0x43 && d[6] === 0) await r.sim.write(Uint8Array.of(0x45, 0)); // someone else aborts
    },
    close: async () => {},
  };
  const { error } = await flash(r, image(9000), interfering);
  t.equal(error?.message, 'DFU unexpected state: expected Updating, got Idle');
});

t.test('a start that finds a latched error fails at once without an abort', async (t) => {
  const r = rig();
  r.sim.addFault({ kind: 'corrupt', registers: [0x41], count: 1 });
  const { error } = await flash(r, image(100));
  t.equal(error?.message, 'Invalid DFU state value: 255');
  t.equal(writesTo(r, 0x45).length, 0);
});

t.test(
  'writer rules: duplicate blocks count twice, blocks beyond the partition, commit outside ReadyToCommit',
  async (t) => {
    const r = rig();
    const block = (n: number) => r.sim.write(Uint8Array.from([0x43, ...blockMessage(n, Uint8Array.of(n, 1, 2))]));
    const status = () => r.sim.snapshot().controller.dfu_status;
    await r.write(0x40, 0, 0, 0x30, 0); // 3 blocks
    await block(0);
    await block(0);
    t.equal(r.sim.snapshot().controller.dfu_blocks_written, 2, 'duplicate counted');
    await block(1);
    t.equal(status(), 4, 'ReadyToCommit after 3 counted blocks');
    await block(2);
    t.equal(status(), 8, 'a block in ReadyToCommit is a ProtocolError');
    await r.write(0x44, 0);
    t.equal(status(), 8, 'only Start and Abort leave ProtocolError');
    await r.write(0x45, 0);
    t.equal(status(), 0);
    t.equal(r.sim.snapshot().controller.dfu_blocks_written, 0, 'abort clears the counter');

    await r.write(0x40, 0, 0, 0x10, 0);
    await block(129);
    t.equal(status(), 7, 'offset beyond the staging partition → WriteError');

    await r.write(0x40, 0, 0, 0x20, 0);
    await r.write(0x44, 0);
    t.equal(status(), 8, 'commit while Updating → ProtocolError');
    await r.write(0x45, 0);
    await r.write(0x44, 0);
    t.equal(status(), 8, 'commit while Idle → ProtocolError');
  },
);

t.test('swap on the next MCU reset, rollback on a reset within 30 s, kept after mark-good', async (t) => {
  const r = rig({ swapMs: 10_000 });
  await r.clock.advance(31_000);
  const { error } = await flash(r, firmwareImage({ bytes: 5000 }));
  t.equal(error, null);
  r.sim.setIdentity({ firmware_version: [3, 4, 0, 0xff] });
  t.same(await r.read(0x04, 4), [3, 3, 1, 0xff], 'still the old image until a reset');
  r.sim.mcuReset();
  await t.rejects(r.read(0x04, 4), { name: 'BusError', kind: 'nack' }, 'silent during the swap');
  await r.clock.advance(10_000);
  t.same(await r.read(0x04, 4), [3, 4, 0, 0xff], 'the new image runs');
  await r.clock.advance(5000);
  r.sim.mcuReset(); // within 30 s of the new image's boot
  await r.clock.advance(10_000);
  t.same(await r.read(0x04, 4), [3, 3, 1, 0xff], 'reverted to the previous image');

  const r2 = rig({ swapMs: 0 });
  await r2.clock.advance(31_000);
  await flash(r2, firmwareImage({ bytes: 5000 }));
  r2.sim.setIdentity({ firmware_version: [3, 4, 0, 0xff] });
  r2.sim.mcuReset();
  await r2.clock.advance(31_000);
  r2.sim.mcuReset();
  await r2.clock.advance(100);
  t.same(await r2.read(0x04, 4), [3, 4, 0, 0xff], 'marked good after 30 s: a later reset keeps it');
});

t.test(
  'an image that is no firmware is written and committed, then does not start: the bootloader reverts',
  async (t) => {
    const r = rig({ swapMs: 10_000 });
    await r.clock.advance(31_000);
    const { error } = await flash(r, image(5000)); // the controller checks nothing: the host must
    t.equal(error, null);
    t.equal(r.sim.snapshot().controller.pending_swap, true);
    r.sim.setIdentity({ firmware_version: [3, 4, 0, 0xff] });
    r.sim.mcuReset();
    await r.clock.advance(20_000);
    await t.rejects(
      r.read(0x04, 4),
      { name: 'BusError', kind: 'nack' },
      "silent: swap, a crash, the bootloader's watchdog, the swap back",
    );
    await r.clock.advance(8_000);
    t.same(await r.read(0x04, 4), [3, 3, 1, 0xff], 'the old image runs again');
    t.equal(r.sim.snapshot().controller.pending_swap, false);
    t.ok(
      r.sim.log.some(
        (e) =>
          e.kind === 'reset' &&
          /staged image does not start \(Not a HALPI2 firmware image: its initial stack pointer/.test(e.result),
      ),
    );
    r.sim.mcuReset();
    await r.clock.advance(100);
    t.same(await r.read(0x04, 4), [3, 3, 1, 0xff], 'and stays after the next reset');
  },
);

t.test('a commit within 30 s of boot is cancelled by the mark-good step', async (t) => {
  const r = rig();
  const { error } = await flash(r, image(100));
  t.equal(error, null);
  t.equal(r.sim.snapshot().controller.pending_swap, true);
  await r.clock.advance(31_000);
  t.equal(r.sim.snapshot().controller.pending_swap, false);
});

t.test('an MCU reset mid-DFU loses the session', async (t) => {
  const r = rig();
  await r.write(0x40, 0, 0, 0x30, 0);
  await r.sim.write(Uint8Array.from([0x43, ...blockMessage(0, Uint8Array.of(1))]));
  r.sim.mcuReset();
  const snap = r.sim.snapshot().controller;
  t.equal(snap.dfu_status, 0);
  t.equal(snap.dfu_blocks_written, 0);
});

t.test('verification: a blocks-written count that disagrees never commits', async (t) => {
  const r = rig();
  // Register 0x42 reads one block more than was sent (as after a duplicated block).
  const miscounting: Bus = {
    description: 'miscounting',
    writeRead: async (d, n) => {
      const out = await r.sim.writeRead(d, n);
      if (d[0] !== 0x42) return out;
      const count = ((out[0]! << 8) | out[1]!) + 1;
      return Uint8Array.of(count >> 8, count & 0xff);
    },
    write: (d) => r.sim.write(d),
    close: async () => {},
  };
  const { error } = await flash(r, image(3 * 4096), miscounting);
  t.equal(error?.message, 'DFU operation timeout: device did not become ready within the specified time');
  t.equal(writesTo(r, 0x44).length, 0, 'never committed');
  t.equal(writesTo(r, 0x45).length, 1, 'aborted');
  t.equal(r.sim.snapshot().controller.pending_swap, false);
});

/** A bus whose 0x41 status reads come from `script` (by read number) where it returns a value. */
function statusScript(r: Rig, script: (n: number) => number | undefined): { bus: Bus; reads: number[] } {
  let n = 0;
  const reads: number[] = [];
  return {
    reads,
    bus: {
      description: 'scripted status',
      writeRead: async (d, len) => {
        const out = await r.sim.writeRead(d, len);
        if (d[0] !== 0x41) return out;
        reads.push(r.clock.now());
        const v = script(n++);
        return v === undefined ? out : Uint8Array.of(v);
      },
      write: (d) => r.sim.write(d),
      close: async () => {},
    },
  };
}

t.test('an error status right after start fails at once: no block, no abort', async (t) => {
  const r = rig();
  const { bus } = statusScript(r, (n) => (n === 0 ? 5 : undefined));
  const { error } = await flash(r, image(5000), bus);
  t.equal(error?.message, 'DFU error state: CrcError');
  t.equal(writesTo(r, 0x43).length, 0, 'no block sent');
  t.equal(writesTo(r, 0x45).length, 0, 'no abort (the spec sequence)');
});

t.test('waiting for ready: Preparing polls every 500 ms, QueueFull every 100 ms, ReadyToCommit is ready', async (t) => {
  const r = rig();
  // Reads: 0 after start (Updating), then before block 0: Preparing, Preparing, QueueFull, QueueFull, ReadyToCommit.
  const seq = [2, 1, 1, 3, 3, 4];
  const { bus, reads } = statusScript(r, (n) => seq[n]);
  const { error } = await flash(r, image(5000), bus);
  t.equal(error, null, 'the upload succeeded');
  const gaps = reads.slice(1, 6).map((at, i) => reads[i + 2]! - at);
  t.same(gaps.slice(0, 4), [500, 500, 100, 100], 'poll intervals after Preparing, Preparing, QueueFull, QueueFull');
  const firstBlock = r.sim.log.find((e) => e.kind === 'write' && e.register === 0x43)!;
  t.equal(firstBlock.t, reads[5], 'ReadyToCommit (the queue drained): the block goes out at once, no further poll');
});

t.test('verification: Idle or an error status fails at once and never commits', async (t) => {
  for (const [status, name] of [
    [0, 'Idle'],
    [7, 'WriteError'],
    [8, 'ProtocolError'],
  ] as const) {
    const r = rig();
    let verifying = false;
    const bus: Bus = {
      description: 'verify fails',
      writeRead: async (d, len) => {
        const out = await r.sim.writeRead(d, len);
        return d[0] === 0x41 && verifying ? Uint8Array.of(status) : out;
      },
      write: async (d) => {
        await r.sim.write(d);
        if (d[0] === 0x43 && ((d[5]! << 8) | d[6]!) === 1) verifying = true; // after the last of two blocks
      },
      close: async () => {},
    };
    const { error } = await flash(r, image(5000), bus);
    t.equal(error?.message, `DFU error state: ${name}`, name);
    t.equal(writesTo(r, 0x44).length, 0, `${name}: never committed`);
    t.equal(writesTo(r, 0x45).length, 1, `${name}: aborted`);
  }
});

t.test('ready in the poll at 30 s exactly is in time: the timeout is "more than 30 s"', async (t) => {
  const r = rig();
  // After start: Updating; before block 0, Preparing until (and including) the poll at 30 s.
  const { bus, reads } = statusScript(r, (n) => (n === 0 ? 2 : r.clock.now() - reads[1]! <= 30_000 ? 1 : undefined));
  const { error } = await flash(r, image(100), bus, 200_000);
  t.equal(error, null, 'the upload went on');
  t.equal(reads.at(-1)! - reads[1]! >= 30_500, true, 'it polled past 30 s');
  t.equal(writesTo(r, 0x44).length, 1, 'committed');
});

t.test('verification still going at 5 s exactly is in time: the timeout is "more than 5 s"', async (t) => {
  const r = rig();
  let verifyFrom: number | null = null;
  const bus: Bus = {
    description: 'slow verify',
    writeRead: async (d, len) => {
      const out = await r.sim.writeRead(d, len);
      if (d[0] !== 0x41 || !writesTo(r, 0x43).length) return out;
      verifyFrom ??= r.clock.now();
      return r.clock.now() - verifyFrom < 5_000 ? Uint8Array.of(2) : out; // Updating for 5 s
    },
    write: (d) => r.sim.write(d),
    close: async () => {},
  };
  // One status read a second: the last check falls on 5 s exactly.
  const { error } = await flash(r, image(100), bus, 200_000, { verifyPauseMs: 0, verifyRetryMs: 1000 });
  t.equal(error, null, 'verified and committed');
  t.equal(writesTo(r, 0x44).length, 1);
});
