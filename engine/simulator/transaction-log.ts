// The simulated controller's log of its last transactions and events (tests read it). Every
// transaction of an idle daemon (ten a second) lands here, so an entry is written into rings of
// typed arrays allocated once (no object, no hex string, no array shifted per transaction) and
// made into objects only when the log is read.

export interface TransactionLogEntry {
  t: number;
  kind: 'read' | 'write' | 'plain-read' | 'transition' | 'fault' | 'reset';
  register?: number;
  bytes?: string;
  result: string;
}

const KINDS: ReadonlyArray<TransactionLogEntry['kind']> = [
  'read',
  'write',
  'plain-read',
  'transition',
  'fault',
  'reset',
];
/** Bytes kept as they came; a longer transfer (a firmware block) is written as hex at once. */
const SHORT = 16;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const NONE = -1;

// An entry's numbers, interleaved: one 32-byte record per entry in one buffer, so that logging a
// transaction touches one cache line, not one in each of five arrays (an idle daemon logs ten a
// second, each tick finding its data out of the caches): t as a double (bytes 0–7), the kind's
// index (byte 8), the register or NONE (bytes 10–11), the length or NONE (bytes 12–15) and up to
// SHORT bytes (16–31).
const RECORD = 32;

export class TransactionLog {
  private readonly f64: Float64Array;
  private readonly i32: Int32Array;
  private readonly i16: Int16Array;
  private readonly u8: Uint8Array;
  /** The entry's result at 2i, and its bytes as hex at 2i + 1 when longer than SHORT (else null). */
  private readonly text: Array<string | null>;
  /** Where the next entry goes; the oldest is there too once the ring is full. */
  private next = 0;
  private count = 0;
  private entries: TransactionLogEntry[] | null = null;

  constructor(private readonly size: number) {
    const buffer = new ArrayBuffer(size * RECORD);
    this.f64 = new Float64Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.i16 = new Int16Array(buffer);
    this.u8 = new Uint8Array(buffer);
    this.text = new Array<string | null>(size * 2).fill(null);
  }

  /** Log an entry; `bytes` are copied (or written as hex) now, so the caller may reuse them. */
  add(
    t: number,
    kind: TransactionLogEntry['kind'],
    register: number | undefined,
    bytes: Uint8Array | undefined,
    result: string,
  ): void {
    const i = this.next;
    this.f64[i * 4] = t;
    this.u8[i * RECORD + 8] = KINDS.indexOf(kind);
    this.i16[i * 16 + 5] = register ?? NONE;
    this.text[i * 2] = result;
    this.text[i * 2 + 1] = null;
    if (!bytes) this.i32[i * 8 + 3] = NONE;
    else {
      this.i32[i * 8 + 3] = bytes.length;
      if (bytes.length <= SHORT) this.u8.set(bytes, i * RECORD + 16);
      else this.text[i * 2 + 1] = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
    }
    this.next = (i + 1) % this.size;
    if (this.count < this.size) this.count++;
    this.entries = null;
  }

  /** The entries, oldest first (the same array until the next entry). */
  list(): TransactionLogEntry[] {
    if (this.entries) return this.entries;
    const out: TransactionLogEntry[] = [];
    const first = this.count < this.size ? 0 : this.next;
    for (let n = 0; n < this.count; n++) {
      const i = (first + n) % this.size;
      const entry: TransactionLogEntry = {
        t: this.f64[i * 4]!,
        kind: KINDS[this.u8[i * RECORD + 8]!]!,
        result: this.text[i * 2]!,
      };
      const register = this.i16[i * 16 + 5]!;
      if (register !== NONE) entry.register = register;
      const length = this.i32[i * 8 + 3]!;
      if (length !== NONE) entry.bytes = this.text[i * 2 + 1] ?? this.hex(i, length);
      out.push(entry);
    }
    return (this.entries = out);
  }

  private hex(i: number, length: number): string {
    let s = '';
    for (let k = 0; k < length; k++) s += HEX[this.u8[i * RECORD + 16 + k]!]!;
    return s;
  }
}
