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
const KIND_CODE = new Map(KINDS.map((k, i) => [k, i]));
/** Bytes kept as they came; a longer transfer (a firmware block) is written as hex at once. */
const SHORT = 16;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const NONE = -1;

export class TransactionLog {
  private readonly t: Float64Array;
  private readonly kind: Uint8Array;
  private readonly register: Int16Array;
  /** Bytes of the entry, NONE for an entry without bytes. */
  private readonly length: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly result: string[];
  private readonly longHex: Array<string | null>;
  /** Where the next entry goes; the oldest is there too once the ring is full. */
  private next = 0;
  private count = 0;
  private entries: TransactionLogEntry[] | null = null;

  constructor(private readonly size: number) {
    this.t = new Float64Array(size);
    this.kind = new Uint8Array(size);
    this.register = new Int16Array(size);
    this.length = new Int32Array(size);
    this.bytes = new Uint8Array(size * SHORT);
    this.result = new Array<string>(size).fill('');
    this.longHex = new Array<string | null>(size).fill(null);
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
    this.t[i] = t;
    this.kind[i] = KIND_CODE.get(kind)!;
    this.register[i] = register ?? NONE;
    this.result[i] = result;
    this.longHex[i] = null;
    if (!bytes) this.length[i] = NONE;
    else {
      this.length[i] = bytes.length;
      if (bytes.length <= SHORT) this.bytes.set(bytes, i * SHORT);
      else this.longHex[i] = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
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
      const entry: TransactionLogEntry = { t: this.t[i]!, kind: KINDS[this.kind[i]!]!, result: this.result[i]! };
      if (this.register[i] !== NONE) entry.register = this.register[i]!;
      const length = this.length[i]!;
      if (length !== NONE) entry.bytes = this.longHex[i] ?? this.hex(i, length);
      out.push(entry);
    }
    return (this.entries = out);
  }

  private hex(i: number, length: number): string {
    let s = '';
    for (let k = 0; k < length; k++) s += HEX[this.bytes[i * SHORT + k]!]!;
    return s;
  }
}
