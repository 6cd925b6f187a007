// What a HALPI2 controller firmware image looks like (docs/controller.md, "Firmware update"): the
// flat .bin of an RP2040 application linked for the bootloader's slot at 0x10007000, starting with
// its Cortex-M0+ vector table. The controller writes whatever it is sent and its bootloader swaps it
// in at the next reset, so every face checks the image before the first DFU transaction.

/** Where the bootloader starts the application (the FLASH partition of the firmware's memory.x). */
export const APP_BASE = 0x1000_7000;
/** The application slot, and so the largest image the controller takes. */
export const MAX_IMAGE_BYTES = 512 * 1024;
/** RP2040 SRAM: 256 KiB striped plus two 4 KiB banks; the initial stack pointer may equal the end. */
export const SRAM_START = 0x2000_0000;
export const SRAM_END = 0x2004_2000;
/** The Cortex-M0+ system exceptions (16) and the RP2040's 26 interrupts. */
export const VECTOR_WORDS = 16 + 26;
export const MIN_IMAGE_BYTES = VECTOR_WORDS * 4;

/** An image refused before any transfer; the message says why, for the user. */
export class FirmwareImageError extends Error {
  override name = 'FirmwareImageError';
}

export interface FirmwareImageInfo {
  bytes: number;
  stackPointer: number;
  resetVector: number;
}

const NOT = 'Not a HALPI2 firmware image';

export const imageTooLarge = (bytes: number): string =>
  `Firmware image is too large: ${bytes} bytes (the controller takes at most ${MAX_IMAGE_BYTES})`;
const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

/** Vectors that must name a handler (reset, NMI, HardFault); the others may be 0 (reserved, unused). */
const REQUIRED = new Map([
  [1, 'reset'],
  [2, 'NMI'],
  [3, 'HardFault'],
]);
const vectorName = (i: number): string => REQUIRED.get(i) ?? (i < 16 ? `exception ${i}` : `IRQ ${i - 16}`);

/** Only printable ASCII and line breaks: a text file sent by mistake (/etc/hostname, a hex dump). */
function looksLikeText(head: Uint8Array): boolean {
  if (head.length === 0) return false;
  let printable = 0;
  for (const b of head) if ((b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d) printable++;
  return printable === head.length;
}

/** Throws FirmwareImageError unless `image` can be a HALPI2 controller firmware image. */
export function checkFirmwareImage(image: Uint8Array): FirmwareImageInfo {
  const n = image.length;
  if (n === 0) throw new FirmwareImageError('Firmware file is empty');
  if (n > MAX_IMAGE_BYTES) throw new FirmwareImageError(imageTooLarge(n));
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const word = (i: number): number => view.getUint32(i * 4, true); // the vector table is little-endian
  if (n >= 8 && word(0) === 0x0a32_4655 && word(1) === 0x9e5d_5157) {
    throw new FirmwareImageError(`${NOT}: this is a UF2 file (for the RP2040's USB boot mode); flash the .bin image`);
  }
  if (n >= 4 && image[0] === 0x7f && image[1] === 0x45 && image[2] === 0x4c && image[3] === 0x46) {
    throw new FirmwareImageError(`${NOT}: this is an ELF file; flash the .bin image`);
  }
  if (looksLikeText(image.subarray(0, MIN_IMAGE_BYTES))) throw new FirmwareImageError(`${NOT}: this is a text file`);
  if (n < MIN_IMAGE_BYTES) {
    throw new FirmwareImageError(
      `Firmware image is truncated: ${n} bytes cannot hold the RP2040 vector table (${MIN_IMAGE_BYTES} bytes)`,
    );
  }

  const sp = word(0);
  if (sp <= SRAM_START || sp > SRAM_END || sp % 4 !== 0) {
    throw new FirmwareImageError(
      `${NOT}: its initial stack pointer ${hex(sp)} is not in the RP2040's SRAM (${hex(SRAM_START)}–${hex(SRAM_END)})`,
    );
  }
  const codeStart = APP_BASE + MIN_IMAGE_BYTES;
  const end = APP_BASE + n;
  for (let i = 1; i < VECTOR_WORDS; i++) {
    const v = word(i);
    if (v === 0 && !REQUIRED.has(i)) continue;
    const what = `its ${vectorName(i)} vector ${hex(v)}`;
    if ((v & 1) === 0) throw new FirmwareImageError(`${NOT}: ${what} is not a Thumb code address`);
    const addr = v - 1;
    if (addr < codeStart || addr >= APP_BASE + MAX_IMAGE_BYTES) {
      throw new FirmwareImageError(
        `${NOT}: ${what} is outside the application slot ${hex(APP_BASE)}–${hex(APP_BASE + MAX_IMAGE_BYTES)} the controller's bootloader starts`,
      );
    }
    if (addr >= end) {
      throw new FirmwareImageError(
        `Firmware image is truncated: ${what} points past its end (${n} bytes, up to ${hex(end)})`,
      );
    }
  }
  // The linker pads every section of the flat image to a word; a partial word was cut off.
  if (n % 4 !== 0)
    throw new FirmwareImageError(`Firmware image is truncated: ${n} bytes is not a whole number of 32-bit words`);
  return { bytes: n, stackPointer: sp, resetVector: word(1) };
}

/** The problem with an image in one line, or null when it is acceptable. */
export function firmwareImageProblem(image: Uint8Array): string | null {
  try {
    checkFirmwareImage(image);
    return null;
  } catch (err) {
    if (err instanceof FirmwareImageError) return err.message;
    throw err;
  }
}
