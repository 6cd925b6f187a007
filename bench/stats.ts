// Medians and ranges for the bench: every figure is reported as its median over the rounds and
// the lowest and highest round, so a second run can be judged against the first's spread.

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))]!;
};

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export const spread = (xs: number[]): Spread => ({
  median: median(xs),
  min: Math.min(...xs),
  max: Math.max(...xs),
  n: xs.length,
});

/** "12.3 (11.0–14.2)"; one sample is shown alone. */
export const show = (s: Spread, digits = 1, unit = ''): string => {
  const f = (x: number) => x.toFixed(digits);
  const u = unit ? ` ${unit}` : '';
  return s.n > 1 && s.min !== s.max ? `${f(s.median)}${u} (${f(s.min)}–${f(s.max)})` : `${f(s.median)}${u}`;
};
