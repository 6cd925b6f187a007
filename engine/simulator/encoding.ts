// The controller's own float32 encodings (docs/controller.md). The simulator must use
// these, never the host's, so that read-back quirks (8.0 V reads 7.99974 V) appear as on hardware.

const f = Math.fround;

/** Truncate toward zero and clamp to 0…65535; NaN → 0. */
export function sat16(x: number): number {
  if (Number.isNaN(x)) return 0;
  const t = Math.trunc(x);
  return t < 0 ? 0 : t > 65535 ? 65535 : t;
}

export const T_MIN_K = f(f(273.15) - 40);
const RANGE_K = 140;

export const encodeVin = (v: number): number => sat16(f(f(65535 * v) / 40));
export const encodeVcap = (v: number): number => sat16(f(f(65536 * v) / 11));
export const encodeIin = (a: number): number => sat16(f(f(65535 * a) / f(3.3)));
export const encodeTemperature = (k: number): number => sat16(f(f(65535 * f(k - T_MIN_K)) / RANGE_K));
/** Threshold read-back: the stored float re-encoded with the 11 V / 65535 scale. */
export const encodeThresholdRead = (v: number): number => sat16(f(f(v / 11) * 65535));
/** Threshold write: the controller stores `f(f(raw / 65535) × 11)`. */
export const decodeThresholdWrite = (raw: number): number => f(f(raw / 65535) * 11);
