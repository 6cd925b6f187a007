// The controller's firmware-update machinery (docs/controller.md): the I2C side with its
// two sticky latches, and the flash writer fed through a 4-deep command queue.

import { DfuStateNum } from '../registers.js';

export const BLOCK_SIZE = 4096;
export const STAGING_BYTES = 516 * 1024;
const SECTORS = 129;
const QUEUE_DEPTH = 4;

type WriterState = 'Idle' | 'Preparing' | 'Updating' | 'ReadyToCommit' | 'WriteError' | 'ProtocolError' | 'Complete';
type Command =
  { kind: 'start'; size: number } | { kind: 'block'; block: number; data: Uint8Array } | { kind: 'commit' };

export interface DfuTiming {
  /** Erase time per 4 KiB sector (129 sectors). */
  sectorEraseMs: number;
  /** Programming time per block. */
  blockProgramMs: number;
}

export class DfuWriter {
  crcLatch = false;
  lengthLatch = false;
  state: WriterState = 'Idle';
  blocksWritten = 0;
  totalBlocks = 0;
  /** The size announced by the last start command. */
  size = 0;
  readonly staged = new Map<number, Uint8Array>();
  private queue: Command[] = [];
  /** Time at which the command in progress finishes, or null when idle. */
  private busyUntil: number | null = null;
  private current: Command | null = null;

  constructor(
    private readonly timing: DfuTiming,
    /** Called when a commit marks the staged image for swapping. */
    private readonly onCommit: () => void,
  ) {}

  get queueFull(): boolean {
    return this.queue.length >= QUEUE_DEPTH;
  }

  get latched(): boolean {
    return this.crcLatch || this.lengthLatch;
  }

  /** Register 0x41, in the firmware's priority order. */
  get status(): number {
    if (this.crcLatch) return DfuStateNum.CrcError;
    if (this.lengthLatch) return DfuStateNum.DataLengthError;
    switch (this.state) {
      case 'ProtocolError':
        return DfuStateNum.ProtocolError;
      case 'Idle':
      case 'Complete':
        return DfuStateNum.Idle;
      case 'Preparing':
        return DfuStateNum.Preparing;
      case 'WriteError':
        return DfuStateNum.WriteError;
      case 'Updating':
        return this.queueFull ? DfuStateNum.QueueFull : DfuStateNum.Updating;
      case 'ReadyToCommit':
        return DfuStateNum.ReadyToCommit;
    }
  }

  start(size: number, now: number): void {
    this.crcLatch = false;
    this.lengthLatch = false;
    this.enqueue({ kind: 'start', size }, now);
  }

  /** Validated block; returns false if the queue is full (the I2C side must wait). */
  block(block: number, data: Uint8Array, now: number): boolean {
    if (this.queueFull) return false;
    this.enqueue({ kind: 'block', block, data }, now);
    return true;
  }

  commit(now: number): void {
    this.enqueue({ kind: 'commit' }, now);
  }

  abort(): void {
    this.queue = [];
    this.current = null;
    this.busyUntil = null;
    this.state = 'Idle';
    this.blocksWritten = 0;
    this.totalBlocks = 0;
  }

  /** Volatile state lost on an MCU reset. */
  reset(): void {
    this.abort();
    this.crcLatch = false;
    this.lengthLatch = false;
  }

  /** The staged image as the bootloader would swap it in: the announced size, missing blocks as 0. */
  image(): Uint8Array {
    const out = new Uint8Array(Math.min(this.size, STAGING_BYTES));
    for (const [n, page] of this.staged)
      if (n * BLOCK_SIZE < out.length) out.set(page.subarray(0, out.length - n * BLOCK_SIZE), n * BLOCK_SIZE);
    return out;
  }

  /** Run the writer up to `now`. */
  update(now: number): void {
    for (;;) {
      if (this.current) {
        if (this.busyUntil !== null && now < this.busyUntil) return;
        this.finish(this.current);
        this.current = null;
        this.busyUntil = null;
      }
      const next = this.queue.shift();
      if (!next) return;
      this.begin(next, now);
    }
  }

  private enqueue(cmd: Command, now: number): void {
    this.queue.push(cmd);
    this.update(now);
  }

  private begin(cmd: Command, now: number): void {
    if (cmd.kind === 'start') {
      this.state = 'Preparing';
      this.blocksWritten = 0;
      this.totalBlocks = Math.ceil(cmd.size / BLOCK_SIZE);
      this.size = cmd.size;
      this.staged.clear();
      this.current = cmd;
      this.busyUntil = now + SECTORS * this.timing.sectorEraseMs;
      return;
    }
    if (this.state === 'WriteError' || this.state === 'ProtocolError') {
      this.state = 'ProtocolError';
      return;
    }
    if (cmd.kind === 'block') {
      if (this.state !== 'Updating') {
        this.state = 'ProtocolError';
        return;
      }
      this.current = cmd;
      this.busyUntil = now + this.timing.blockProgramMs;
      return;
    }
    // commit
    if (this.state === 'ReadyToCommit') {
      this.onCommit(); // a failure to mark would be masked: still Complete
      this.state = 'Complete';
      this.blocksWritten = 0;
    } else {
      this.state = 'ProtocolError';
    }
  }

  private finish(cmd: Command): void {
    if (cmd.kind === 'start') {
      this.state = 'Updating';
      return;
    }
    if (cmd.kind === 'block') {
      const offset = cmd.block * BLOCK_SIZE;
      if (offset + BLOCK_SIZE > STAGING_BYTES) {
        this.state = 'WriteError';
        return;
      }
      const page = new Uint8Array(BLOCK_SIZE);
      page.set(cmd.data);
      this.staged.set(cmd.block, page);
      this.blocksWritten++;
      if (this.blocksWritten >= this.totalBlocks) this.state = 'ReadyToCommit';
    }
  }
}
