// A JSON parser that keeps what halpid 5.0.2's parser (serde_json) keeps and JSON.parse loses:
// whether a number was an integer literal, its exact value, and the position of every value, so
// that 400/422 texts read like serde's (docs/api.md).

export interface Pos {
  line: number;
  col: number;
}

export type JsonValue =
  | { t: 'null'; end: Pos }
  | { t: 'bool'; v: boolean; end: Pos }
  /** An integer literal `-?(0|[1-9][0-9]*)` that fits u64 (or i64 when negative), never `-0`. */
  | { t: 'int'; v: bigint; text: string; end: Pos }
  | { t: 'float'; v: number; text: string; end: Pos }
  | { t: 'str'; v: string; end: Pos }
  | { t: 'arr'; v: JsonValue[]; end: Pos }
  /** Duplicate keys: the last one wins. */
  | { t: 'obj'; v: Map<string, JsonValue>; end: Pos };

export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
  constructor(
    readonly detail: string,
    readonly pos: Pos | null,
  ) {
    super(pos ? `${detail} at line ${pos.line} column ${pos.col}` : detail);
  }
}

const U64_MAX = 18446744073709551615n;
const I64_MIN = -9223372036854775808n;
const MAX_DEPTH = 128;
const decoder = new TextDecoder('utf-8', { fatal: true });

export function parseJson(input: Uint8Array | string): JsonValue {
  return new Parser(typeof input === 'string' ? Buffer.from(input, 'utf8') : input).document();
}

class Parser {
  private i = 0;
  private line = 1;
  private col = 0;
  private depth = 0;

  constructor(private readonly b: Uint8Array) {}

  document(): JsonValue {
    const v = this.value();
    this.ws();
    if (this.i < this.b.length) throw this.peekError('trailing characters');
    return v;
  }

  private get pos(): Pos {
    return { line: this.line, col: this.col };
  }

  private next(): number {
    const c = this.b[this.i++]!;
    if (c === 0x0a) {
      this.line++;
      this.col = 0;
    } else {
      this.col++;
    }
    return c;
  }

  private peek(): number | undefined {
    return this.b[this.i];
  }

  private error(detail: string): JsonSyntaxError {
    return new JsonSyntaxError(detail, this.pos);
  }

  /** An error at the character not consumed yet (serde's peek_error). */
  private peekError(detail: string): JsonSyntaxError {
    const c = this.peek();
    if (c === undefined || c === 0x0a) return new JsonSyntaxError(detail, this.pos);
    return new JsonSyntaxError(detail, { line: this.line, col: this.col + 1 });
  }

  private ws(): void {
    for (;;) {
      const c = this.peek();
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.next();
      else return;
    }
  }

  private value(): JsonValue {
    this.ws();
    const c = this.peek();
    if (c === undefined) throw this.error('EOF while parsing a value');
    switch (c) {
      case 0x7b:
        return this.object();
      case 0x5b:
        return this.array();
      case 0x22: {
        this.next();
        const v = this.string();
        return { t: 'str', v, end: this.pos };
      }
      case 0x74:
        this.ident('true');
        return { t: 'bool', v: true, end: this.pos };
      case 0x66:
        this.ident('false');
        return { t: 'bool', v: false, end: this.pos };
      case 0x6e:
        this.ident('null');
        return { t: 'null', end: this.pos };
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
        throw this.peekError('expected value');
    }
  }

  private ident(word: string): void {
    for (let k = 0; k < word.length; k++) {
      const c = this.peek();
      if (c === undefined) throw this.error('EOF while parsing a value');
      if (c !== word.charCodeAt(k)) {
        if (k === 0) throw this.peekError('expected value');
        this.next();
        throw this.error('expected ident');
      }
      this.next();
    }
  }

  private number(): JsonValue {
    const start = this.i;
    const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;
    if (this.peek() === 0x2d) this.next();
    if (this.peek() === undefined) throw this.error('EOF while parsing a value');
    if (this.peek() === 0x30) {
      this.next();
      if (isDigit(this.peek())) throw this.peekError('invalid number');
    } else if (isDigit(this.peek())) {
      while (isDigit(this.peek())) this.next();
    } else {
      throw this.peekError('invalid number');
    }
    let integral = true;
    if (this.peek() === 0x2e) {
      integral = false;
      this.next();
      if (!isDigit(this.peek()))
        throw this.peek() === undefined ? this.error('EOF while parsing a value') : this.peekError('invalid number');
      while (isDigit(this.peek())) this.next();
    }
    if (this.peek() === 0x65 || this.peek() === 0x45) {
      integral = false;
      this.next();
      if (this.peek() === 0x2b || this.peek() === 0x2d) this.next();
      if (!isDigit(this.peek()))
        throw this.peek() === undefined ? this.error('EOF while parsing a value') : this.peekError('invalid number');
      while (isDigit(this.peek())) this.next();
    }
    const text = Buffer.from(this.b.subarray(start, this.i)).toString('latin1');
    const end = this.pos;
    if (integral && text !== '-0') {
      const big = BigInt(text);
      if (big >= I64_MIN && big <= U64_MAX) return { t: 'int', v: big, text, end };
    }
    const v = Number(text);
    if (!Number.isFinite(v)) throw this.error('number out of range');
    return { t: 'float', v, text, end };
  }

  private string(): string {
    const parts: number[] = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw this.error('EOF while parsing a string');
      this.next();
      if (c === 0x22) break;
      if (c < 0x20) throw this.error('control character (\\u0000-\\u001F) found while parsing a string');
      if (c !== 0x5c) {
        parts.push(c);
        continue;
      }
      const e = this.peek();
      if (e === undefined) throw this.error('EOF while parsing a string');
      this.next();
      const simple: Record<number, number> = {
        0x22: 0x22,
        0x5c: 0x5c,
        0x2f: 0x2f,
        0x62: 8,
        0x66: 12,
        0x6e: 10,
        0x72: 13,
        0x74: 9,
      };
      if (simple[e] !== undefined) {
        parts.push(simple[e]);
        continue;
      }
      if (e !== 0x75) throw this.error('invalid escape');
      let cp = this.hex4();
      if (cp >= 0xd800 && cp <= 0xdbff) {
        if (this.peek() !== 0x5c) throw this.error('lone leading surrogate in hex escape');
        this.next();
        if (this.peek() !== 0x75) throw this.error('unexpected end of hex escape');
        this.next();
        const low = this.hex4();
        if (low < 0xdc00 || low > 0xdfff) throw this.error('lone leading surrogate in hex escape');
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
      } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        throw this.error('lone leading surrogate in hex escape');
      }
      parts.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'));
    }
    try {
      return decoder.decode(Uint8Array.from(parts));
    } catch {
      throw this.error('invalid unicode code point');
    }
  }

  private hex4(): number {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = this.peek();
      if (c === undefined) throw this.error('EOF while parsing a string');
      this.next();
      const d =
        c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
      if (d < 0) throw this.error('invalid escape');
      v = v * 16 + d;
    }
    return v;
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw this.error('recursion limit exceeded');
  }

  private array(): JsonValue {
    this.enter();
    this.next(); // [
    const items: JsonValue[] = [];
    this.ws();
    if (this.peek() === 0x5d) {
      this.next();
      this.depth--;
      return { t: 'arr', v: items, end: this.pos };
    }
    for (;;) {
      items.push(this.value());
      this.ws();
      const c = this.peek();
      if (c === undefined) throw this.error('EOF while parsing a list');
      if (c === 0x5d) {
        this.next();
        this.depth--;
        return { t: 'arr', v: items, end: this.pos };
      }
      if (c !== 0x2c) throw this.peekError('expected `,` or `]`');
      this.next();
      this.ws();
      if (this.peek() === 0x5d) throw this.peekError('trailing comma');
    }
  }

  private object(): JsonValue {
    this.enter();
    this.next(); // {
    const map = new Map<string, JsonValue>();
    this.ws();
    if (this.peek() === 0x7d) {
      this.next();
      this.depth--;
      return { t: 'obj', v: map, end: this.pos };
    }
    for (;;) {
      this.ws();
      const c = this.peek();
      if (c === undefined) throw this.error('EOF while parsing an object');
      if (c !== 0x22) throw this.peekError(c === 0x7d ? 'trailing comma' : 'key must be a string');
      this.next();
      const key = this.string();
      this.ws();
      if (this.peek() === undefined) throw this.error('EOF while parsing an object');
      if (this.peek() !== 0x3a) throw this.peekError('expected `:`');
      this.next();
      const value = this.value();
      map.delete(key);
      map.set(key, value);
      this.ws();
      const d = this.peek();
      if (d === undefined) throw this.error('EOF while parsing an object');
      if (d === 0x7d) {
        this.next();
        this.depth--;
        return { t: 'obj', v: map, end: this.pos };
      }
      if (d !== 0x2c) throw this.peekError('expected `,` or `}`');
      this.next();
    }
  }
}

/** serde's description of a value in "invalid type" messages. */
export function describe(v: JsonValue): string {
  switch (v.t) {
    case 'null':
      return 'null';
    case 'bool':
      return `boolean \`${v.v}\``;
    case 'int':
      return `integer \`${v.text}\``;
    case 'float':
      return `floating point \`${formatSerdeFloat(v.v)}\``;
    case 'str':
      return `string ${JSON.stringify(v.v)}`;
    case 'arr':
      return 'sequence';
    case 'obj':
      return 'map';
  }
}

function formatSerdeFloat(x: number): string {
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/** The 422 detail when a boolean was expected. */
export function expectedBoolean(v: JsonValue): string {
  return `invalid type: ${describe(v)}, expected a boolean at line ${v.end.line} column ${v.end.col}`;
}
