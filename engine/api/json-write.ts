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

export function stringify(value: Out, dialect: Dialect = 5): string {
  const spaced = dialect === 4;
  const num = dialect === 4 ? formatFloat4 : formatFloat5;
  const write = (v: Out): string => {
    if (v === null) return 'null';
    if (v instanceof Float) return num(v.v);
    if (typeof v === 'number') return String(v);
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'string') return JSON.stringify(v);
    if (Array.isArray(v)) return `[${v.map(write).join(spaced ? ', ' : ',')}]`;
    const keys = Object.keys(v);
    if (!spaced) keys.sort(); // all keys are ASCII: code-unit order is byte order
    return `{${keys.map((k) => `${JSON.stringify(k)}${spaced ? ': ' : ':'}${write(v[k]!)}`).join(spaced ? ', ' : ',')}}`;
  };
  return write(value);
}
