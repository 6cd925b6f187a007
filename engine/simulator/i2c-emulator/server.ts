// The emulator server (docs/i2c-emulator.md): answers the bus transfers that
// native/i2c-emulator (LD_PRELOAD) sends for an emulated /dev/i2c-N, with a SimulatedController,
// and keeps a transcript of every transfer. One connection per open descriptor; transfers from
// all of them are served one at a time, as the kernel's adapter lock does.
//
// Wire format (little-endian): a request is u32 length + body; the answer u32 length + i32 errno
// (0 = done) + the bytes read. Bodies: 'H' u8 bus (open), or 'T' u8 via u8 count then per
// message u16 addr, u16 flags, u16 len and, for a write, its bytes.

import { createServer, type Server, type Socket } from 'node:net';
import { BusError, type BusErrorKind } from '../../bus.js';
import type { SimulatedController } from '../controller.js';

const I2C_M_RD = 0x0001;
const VIA = { 1: 'write', 2: 'read', 3: 'rdwr', 4: 'smbus' } as const;
export type Via = (typeof VIA)[keyof typeof VIA];

export interface TranscriptMessage {
  addr: number;
  /** `w` a write, `r` a read (a write followed by a read in one transfer is a repeated start). */
  dir: 'w' | 'r';
  len: number;
  /** Hex of the bytes written or read (empty for a failed read). */
  data: string;
}

export interface TranscriptEntry {
  seq: number;
  /** Milliseconds since the server started. */
  t: number;
  /** The connection (one per open descriptor). */
  conn: number;
  /** The call that made the transfer: write()/read() on the node, or ioctl I2C_RDWR / I2C_SMBUS. */
  via: Via;
  msgs: TranscriptMessage[];
  /** `ok`, or the errno name the caller got (EREMOTEIO, ETIMEDOUT, EIO, ...). */
  result: string;
}

/** Linux errno numbers (the same on x86-64 and arm64; node:os lacks EREMOTEIO). */
const ERRNO_NUMBER = { EIO: 5, ENODEV: 19, EINVAL: 22, ETIMEDOUT: 110, EREMOTEIO: 121 } as const;
type ErrnoName = keyof typeof ERRNO_NUMBER;

/** What the kernel reports for each failure (i2c-designware: NACK → EREMOTEIO, timeout → ETIMEDOUT). */
const ERRNO: Record<BusErrorKind, ErrnoName> = {
  nack: 'EREMOTEIO',
  timeout: 'ETIMEDOUT',
  io: 'EIO',
  unavailable: 'ENODEV',
};

interface Msg {
  addr: number;
  read: boolean;
  len: number;
  data: Uint8Array;
}

export class I2cEmulatorServer {
  readonly transcript: TranscriptEntry[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private queue: Promise<void> = Promise.resolve();
  private seq = 0;
  private conns = 0;
  private readonly started = performance.now();

  constructor(
    private readonly opts: {
      controller: SimulatedController;
      /** The controller's address; other addresses NACK (default 0x6D). */
      address?: number;
      /** The emulated bus number (default 1). */
      bus?: number;
      /** Called with each entry as it is made (e.g. to append it to a file). */
      onTransfer?: (entry: TranscriptEntry) => void;
      /** Entries kept in memory (default 100000). */
      keep?: number;
    },
  ) {}

  listen(path: string): Promise<void> {
    const server = createServer((socket) => this.serve(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** Stop listening and drop every connection (the emulated node's descriptors then fail with EIO). */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    const conn = ++this.conns;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const len = pending.readUInt32LE(0);
        if (pending.length < 4 + len) break;
        const body = pending.subarray(4, 4 + len);
        pending = pending.subarray(4 + len);
        this.queue = this.queue.then(async () => {
          const [errno, data] = await this.answer(conn, body);
          const head = Buffer.alloc(8);
          head.writeUInt32LE(4 + data.length, 0);
          head.writeInt32LE(errno, 4);
          if (!socket.destroyed) socket.write(Buffer.concat([head, data]));
        });
      }
    });
  }

  private async answer(conn: number, body: Buffer): Promise<[number, Buffer]> {
    const bus = this.opts.bus ?? 1;
    if (body[0] === 0x48 /* H */) return [body[1] === bus ? 0 : ERRNO_NUMBER.ENODEV, Buffer.alloc(0)];
    if (body[0] !== 0x54 /* T */ || body.length < 3) return [ERRNO_NUMBER.EINVAL, Buffer.alloc(0)];
    const via = VIA[body[1] as keyof typeof VIA] ?? 'rdwr';
    const msgs: Msg[] = [];
    let at = 3;
    for (let i = 0; i < body[2]!; i++) {
      const addr = body.readUInt16LE(at);
      const read = (body.readUInt16LE(at + 2) & I2C_M_RD) !== 0;
      const len = body.readUInt16LE(at + 4);
      at += 6;
      const data = read ? new Uint8Array(len) : new Uint8Array(body.subarray(at, at + len));
      if (!read) at += len;
      msgs.push({ addr, read, len, data });
    }
    let result = 'ok';
    let errno = 0;
    try {
      await this.transfer(msgs);
    } catch (err) {
      const name: ErrnoName = err instanceof BusError ? ERRNO[err.kind] : 'EIO';
      result = name;
      errno = ERRNO_NUMBER[name];
    }
    const entry: TranscriptEntry = {
      seq: ++this.seq,
      t: Math.round(performance.now() - this.started),
      conn,
      via,
      msgs: msgs.map((m) => ({
        addr: m.addr,
        dir: m.read ? 'r' : 'w',
        len: m.len,
        data: errno && m.read ? '' : Buffer.from(m.data).toString('hex'),
      })),
      result,
    };
    this.transcript.push(entry);
    if (this.transcript.length > (this.opts.keep ?? 100_000)) this.transcript.shift();
    this.opts.onTransfer?.(entry);
    if (errno) return [errno, Buffer.alloc(0)];
    return [0, Buffer.concat(msgs.filter((m) => m.read).map((m) => m.data))];
  }

  /** The messages on the bus: a write then a read is the controller's combined read (repeated start). */
  private async transfer(msgs: Msg[]): Promise<void> {
    const sim = this.opts.controller;
    const address = this.opts.address ?? 0x6d;
    // Nobody acknowledges another address: the adapter reports the NACK of the address byte.
    if (msgs.some((m) => m.addr !== address)) throw new BusError('no device at this address', 'nack');
    if (msgs.length === 2 && !msgs[0]!.read && msgs[1]!.read) {
      msgs[1]!.data.set(await sim.writeRead(msgs[0]!.data, msgs[1]!.len));
      return;
    }
    // Any other shape: each message as a transaction of its own (the controller handles no other).
    for (const m of msgs) {
      if (m.read) m.data.set(await sim.writeRead(new Uint8Array(), m.len));
      else await sim.write(m.data);
    }
  }
}
