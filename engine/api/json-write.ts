// Response JSON as halpid 5.0.2 (dialect 5) and halpid 4.0.7 (dialect 4) write it (docs/api.md):
// float fields are marked, because 10.0 and 10 print differently.

export type Dialect = 5 | 4;

/** A float field: printed with `.0` when integral. */
export class Float {
  constructor(readonly v: number) {}
}
export const float = (v: number): Float => new Float(v);

export type Out = null | boolean | number | string | Float | Out[] | { [key: string]: Out };

/** Dialect 5: shortest round-trip, `.0` when integral, exponent without `+` outside 1e-5 ≤ |x| < 1e16. */
export function formatFloat5(x: number): string {
  if (!Number.isFinite(x)) return 'null';
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-5 || abs >= 1e16)) {
    const [mant, exp] = x.toExponential().split('e') as [string, string];
    return `${mant}e${exp.replace('+', '')}`;
  }
  const s = String(x);
  return s.includes('.') ? s : `${s}.0`;
}

/** Dialect 4: Python's repr(float). */
export function formatFloat4(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    const [mant, exp] = x.toExponential().split('e') as [string, string];
    const e = Number(exp);
    return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  const s = String(x);
  return s.includes('.') ? s : `${s}.0`;
}

/** Quoted keys, as JSON.stringify writes them; the API's keys are a few dozen names. */
const quotedKeys = new Map<string, string>();
const QUOTED_KEYS_MAX = 512;

function quoteKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quotedKeys.size < QUOTED_KEYS_MAX) quotedKeys.set(k, q);
  }
  return q;
}

/** Whether the keys are in code-unit order already (the API builds its objects sorted). */
function sorted(keys: string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return false;
  return true;
}

/**
 * The pieces of the text being written, joined once at the end: a string built with `+=` is a
 * tree of small strings that is copied again when written out. Reused (stringify never nests),
 * and never emptied, so that a response of the same shape as the last one does not grow it again.
 */
const parts: string[] = [];
let count = 0;

const put = (s: string): void => {
  parts[count++] = s;
};

function write(v: Out, spaced: boolean, num: (x: number) => string): void {
  if (v === null) put('null');
  else if (v instanceof Float) put(num(v.v));
  else if (typeof v === 'number') put(String(v));
  else if (typeof v === 'boolean') put(v ? 'true' : 'false');
  else if (typeof v === 'string') put(JSON.stringify(v));
  else if (Array.isArray(v)) {
    put('[');
    for (let i = 0; i < v.length; i++) {
      if (i) put(spaced ? ', ' : ',');
      write(v[i]!, spaced, num);
    }
    put(']');
  } else {
    const keys = Object.keys(v);
    if (!spaced && !sorted(keys)) keys.sort(); // all keys are ASCII: code-unit order is byte order
    put('{');
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (i) put(spaced ? ', ' : ',');
      put(quoteKey(k));
      put(spaced ? ': ' : ':');
      write(v[k]!, spaced, num);
    }
    put('}');
  }
}

export function stringify(value: Out, dialect: Dialect = 5): string {
  count = 0;
  if (dialect === 4) write(value, true, formatFloat4);
  else write(value, false, formatFloat5);
  parts.length = count;
  return parts.join('');
}
