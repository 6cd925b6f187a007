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
/** The kind logged ten times a second, its index found once. */
const READ = KINDS.indexOf('read');
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const NONE = -1;

// An entry's numbers, interleaved: one 32-byte record per entry in one buffer, so that logging a
// transaction touches one cache line, not one in each of five arrays (an idle daemon logs ten a
// second, each tick finding its data out of the caches). Byte offsets within the record:
const RECORD = 32;
/** Float64: the time. */
const T = 0;
/** Uint8: the kind's index in KINDS. */
const KIND = 8;
/** Int16: the register, or NONE. */
const REGISTER = 10;
/** Int32: the number of bytes, or NONE for an entry without bytes. */
const LENGTH = 12;
/** Up to SHORT bytes as they came. */
const BYTES = 16;

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
    const r = i * RECORD;
    this.f64[(r + T) >> 3] = t;
    // The common kind without a builtin call: a read is logged ten times a second.
    this.u8[r + KIND] = kind === 'read' ? READ : KINDS.indexOf(kind);
    this.i16[(r + REGISTER) >> 1] = register ?? NONE;
    this.text[i * 2] = result;
    this.text[i * 2 + 1] = null;
    if (!bytes) this.i32[(r + LENGTH) >> 2] = NONE;
    else {
      this.i32[(r + LENGTH) >> 2] = bytes.length;
      if (bytes.length <= SHORT) {
        // A loop, not set(): the builtin's checks cost more than copying the two bytes of a read.
        const u8 = this.u8;
        for (let j = 0; j < bytes.length; j++) u8[r + BYTES + j] = bytes[j]!;
      } else this.text[i * 2 + 1] = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
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
      const r = i * RECORD;
      const entry: TransactionLogEntry = {
        t: this.f64[(r + T) >> 3]!,
        kind: KINDS[this.u8[r + KIND]!]!,
        result: this.text[i * 2]!,
      };
      const register = this.i16[(r + REGISTER) >> 1]!;
      if (register !== NONE) entry.register = register;
      const length = this.i32[(r + LENGTH) >> 2]!;
      if (length !== NONE) entry.bytes = this.text[i * 2 + 1] ?? this.hex(r + BYTES, length);
      out.push(entry);
    }
    return (this.entries = out);
  }

  /** `length` bytes from byte `at` of the buffer, as hex. */
  private hex(at: number, length: number): string {
    let s = '';
    for (let k = 0; k < length; k++) s += HEX[this.u8[at + k]!]!;
    return s;
  }
}
