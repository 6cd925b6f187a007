// Firmware upload (docs/controller.md), timings included. Each transaction is its own logical
// operation on the engine's bus queue: the bus is free during the pacing sleeps, so blackout
// detection and the watchdog keep running during a flash.

import crc32 from 'crc-32';
import createDebug from 'debug';
import type { Clock } from './clock.js';
import type { Device } from './device.js';
import { DfuError } from './errors.js';
import type { DfuState } from './registers.js';

// Stryker disable next-line all: debug output only
const debug = createDebug('halpid:dfu');
// The upload's own error is what counts; a failed abort after it is only worth a debug line.
// Stryker disable next-line all: debug output only
const abortFailed = (e: Error): void => debug('abort failed: %s', e.message);

export const DFU_BLOCK_SIZE = 4096;

export type FlashProgress =
  | { phase: 'start'; blocks: number; bytes: number }
  | { phase: 'block'; block: number; blocks: number }
  | { phase: 'verify' }
  | { phase: 'done' }
  | { phase: 'error'; error: string };

export interface DfuTimings {
  blockPauseMs: number;
  preparingPollMs: number;
  queueFullPollMs: number;
  readyTimeoutMs: number;
  verifyTimeoutMs: number;
  verifyPauseMs: number;
  verifyRetryMs: number;
  commitPauseMs: number;
}

export const DFU_TIMINGS: Readonly<DfuTimings> = Object.freeze({
  blockPauseMs: 100,
  preparingPollMs: 500,
  queueFullPollMs: 100,
  readyTimeoutMs: 30_000,
  verifyTimeoutMs: 5_000,
  verifyPauseMs: 100,
  verifyRetryMs: 500,
  commitPauseMs: 100,
});

/** Runs one logical bus operation; the engine's queue. */
export type Exclusive = <T>(fn: (device: Device) => Promise<T>) => Promise<T>;

export interface UploadOptions {
  clock: Clock;
  exclusive: Exclusive;
  onProgress?: (p: FlashProgress) => void;
  /** Aborting stops the upload at the next step and sends the DFU abort command. */
  signal?: AbortSignal;
  timings?: Partial<DfuTimings>;
}

const ERROR_STATES = new Set<DfuState>(['CrcError', 'DataLengthError', 'WriteError', 'ProtocolError']);
const TIMEOUT = 'DFU operation timeout: device did not become ready within the specified time';

/** The block message written to 0x43: CRC-32 over block number + length + data, then those. */
export function blockMessage(block: number, data: Uint8Array): Uint8Array {
  if (data.length > DFU_BLOCK_SIZE) throw new DfuError(`Invalid block size ${data.length} (max: ${DFU_BLOCK_SIZE})`);
  const msg = new Uint8Array(8 + data.length);
  msg[4] = (block >>> 8) & 0xff;
  msg[5] = block & 0xff;
  msg[6] = (data.length >>> 8) & 0xff;
  msg[7] = data.length & 0xff;
  msg.set(data, 8);
  const crc = crc32.buf(msg.subarray(4)) >>> 0;
  msg[0] = crc >>> 24;
  msg[1] = (crc >>> 16) & 0xff;
  msg[2] = (crc >>> 8) & 0xff;
  msg[3] = crc & 0xff;
  return msg;
}

export async function uploadFirmware(image: Uint8Array, opts: UploadOptions): Promise<void> {
  const { clock, exclusive } = opts;
  const t: DfuTimings = { ...DFU_TIMINGS, ...opts.timings };
  const progress = opts.onProgress ?? (() => {});
  const blocks = Math.ceil(image.length / DFU_BLOCK_SIZE);
  const checkAborted = (): void => {
    if (opts.signal?.aborted) throw new DfuError('Firmware update aborted');
  };

  progress({ phase: 'start', blocks, bytes: image.length });
  await exclusive((d) => d.dfuStart(image.length));
  const initial = await exclusive((d) => d.dfuStatus());
  if (ERROR_STATES.has(initial)) throw new DfuError(`DFU error state: ${initial}`);

  try {
    for (let n = 0; n < blocks; n++) {
      const chunk = image.subarray(n * DFU_BLOCK_SIZE, (n + 1) * DFU_BLOCK_SIZE);
      const message = blockMessage(n, chunk);
      await clock.sleep(t.blockPauseMs);
      await waitReady(opts, t, checkAborted);
      checkAborted();
      await exclusive((d) => d.dfuBlock(message));
      // Stryker disable next-line all: debug output only
      debug('block %d of %d written', n + 1, blocks);
      progress({ phase: 'block', block: n + 1, blocks });
    }
    progress({ phase: 'verify' });
    await verify(opts, t, blocks, checkAborted);
  } catch (err) {
    await exclusive((d) => d.dfuAbort()).catch(abortFailed);
    throw err;
  }
  await clock.sleep(t.commitPauseMs);
  await exclusive((d) => d.dfuCommit());
  progress({ phase: 'done' });
}

async function waitReady(opts: UploadOptions, t: DfuTimings, checkAborted: () => void): Promise<void> {
  const { clock, exclusive } = opts;
  const began = clock.now();
  for (;;) {
    checkAborted();
    const status = await exclusive((d) => d.dfuStatus());
    // Stryker disable next-line all: debug output only
    debug('wait for ready: %s', status);
    if (status === 'Updating' || status === 'ReadyToCommit') return;
    if (status === 'Idle') throw new DfuError('DFU unexpected state: expected Updating, got Idle');
    if (ERROR_STATES.has(status)) throw new DfuError(`DFU error state: ${status}`);
    if (clock.now() - began > t.readyTimeoutMs) throw new DfuError(TIMEOUT);
    await clock.sleep(status === 'Preparing' ? t.preparingPollMs : t.queueFullPollMs);
  }
}

async function verify(opts: UploadOptions, t: DfuTimings, blocks: number, checkAborted: () => void): Promise<void> {
  const { clock, exclusive } = opts;
  const began = clock.now();
  for (;;) {
    if (clock.now() - began > t.verifyTimeoutMs) throw new DfuError(TIMEOUT);
    checkAborted();
    await clock.sleep(t.verifyPauseMs);
    const status = await exclusive((d) => d.dfuStatus());
    await clock.sleep(t.verifyPauseMs);
    const written = await exclusive((d) => d.dfuBlocksWritten());
    // Stryker disable next-line all: debug output only
    debug('verify: %s, %d of %d blocks', status, written, blocks);
    if (status === 'ReadyToCommit' && written === blocks) return;
    if (status === 'Idle' || ERROR_STATES.has(status)) throw new DfuError(`DFU error state: ${status}`);
    await clock.sleep(t.verifyRetryMs);
  }
}
