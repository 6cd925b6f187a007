// A small image shaped like a real HALPI2 controller firmware (engine/firmware-image.ts): the
// vector table of an RP2040 application at 0x10007000, then deterministic filler for the code.
// Its handlers sit near the end, so cutting the image anywhere before them leaves it truncated.

import { APP_BASE, SRAM_END, VECTOR_WORDS } from '../../engine/firmware-image.js';

export interface ImageOptions {
  /** Total size, rounded down to whole words (default 24 KiB). */
  bytes?: number;
  /** Seed of the filler bytes, so two images can differ (default 1). */
  seed?: number;
}

/** 48 words, as cortex-m-rt lays out the table (16 exceptions, 32 interrupt slots). */
const TABLE_WORDS = 48;

export function firmwareImage(opts: ImageOptions = {}): Buffer {
  const bytes = Math.floor((opts.bytes ?? 24 * 1024) / 4) * 4;
  if (bytes < TABLE_WORDS * 4 + 64) throw new Error(`a firmware image needs at least ${TABLE_WORDS * 4 + 64} bytes`);
  const image = Buffer.alloc(bytes);
  let x = (opts.seed ?? 1) >>> 0 || 1;
  for (let i = TABLE_WORDS * 4; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    image[i] = x & 0xff;
  }
  const thumb = (offset: number): number => (APP_BASE + offset) | 1;
  const reset = thumb(TABLE_WORDS * 4); // Reset right after the table, as in the real image
  const fallback = thumb(bytes - 32); // DefaultHandler near the end of the code
  image.writeUInt32LE(SRAM_END, 0);
  image.writeUInt32LE(reset, 4);
  for (let i = 2; i < VECTOR_WORDS; i++) {
    const reserved = (i >= 4 && i <= 10) || i === 12 || i === 13; // no handler on a Cortex-M0+
    image.writeUInt32LE(reserved ? 0 : i === 3 ? thumb(bytes - 64) : fallback, i * 4);
  }
  return image;
}
