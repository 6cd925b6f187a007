import t from 'tap';
import { checkFirmwareImage, firmwareImageProblem, MAX_IMAGE_BYTES } from '../../engine/firmware-image.js';
import { firmwareImage } from '../helpers/firmware.js';

const refused = (image: Uint8Array): string => firmwareImageProblem(image) ?? 'accepted';
const patched = (offset: number, value: number): Buffer => {
  const img = firmwareImage();
  img.writeUInt32LE(value, offset);
  return img;
};

t.test('a real-looking image is accepted, with its entry point', async (t) => {
  const img = firmwareImage({ bytes: 96 * 1024 });
  t.same(checkFirmwareImage(img), { bytes: 96 * 1024, stackPointer: 0x2004_2000, resetVector: 0x1000_70c1 });
  t.equal(firmwareImageProblem(firmwareImage({ bytes: MAX_IMAGE_BYTES })), null, 'the largest the slot holds');
  t.equal(firmwareImageProblem(firmwareImage({ bytes: 256 })), null, 'and a tiny one whose handlers are in it');
});

t.test('files that are no firmware are refused, saying why', async (t) => {
  t.equal(refused(Buffer.from('pi\n')), 'Not a HALPI2 firmware image: this is a text file', '/etc/hostname');
  t.equal(refused(Buffer.alloc(0)), 'Firmware file is empty');
  t.equal(
    refused(Buffer.from('#!/bin/sh\necho hello\n'.repeat(20))),
    'Not a HALPI2 firmware image: this is a text file',
  );
  t.equal(
    refused(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0, ...new Array(300).fill(0)])),
    'Not a HALPI2 firmware image: this is an ELF file; flash the .bin image',
  );
  const uf2 = Buffer.alloc(512);
  uf2.writeUInt32LE(0x0a324655, 0);
  uf2.writeUInt32LE(0x9e5d5157, 4);
  t.equal(
    refused(uf2),
    "Not a HALPI2 firmware image: this is a UF2 file (for the RP2040's USB boot mode); flash the .bin image",
  );
  t.equal(
    refused(Buffer.alloc(4096, 0xff)),
    "Not a HALPI2 firmware image: its initial stack pointer 0xffffffff is not in the RP2040's SRAM (0x20000000–0x20042000)",
    'erased flash',
  );
  t.equal(
    refused(Buffer.alloc(4096)),
    "Not a HALPI2 firmware image: its initial stack pointer 0x00000000 is not in the RP2040's SRAM (0x20000000–0x20042000)",
  );
});

t.test('the vector table: stack in SRAM, handlers Thumb code inside the image at 0x10007000', async (t) => {
  t.match(
    refused(patched(0, 0x2004_2004)),
    /initial stack pointer 0x20042004 is not in the RP2040's SRAM/,
    'past the end of SRAM',
  );
  t.equal(refused(patched(0, 0x2004_1ffc)), 'accepted', 'just inside SRAM');
  t.equal(
    refused(patched(4, 0x1000_70c0)),
    'Not a HALPI2 firmware image: its reset vector 0x100070c0 is not a Thumb code address',
  );
  t.equal(
    refused(patched(4, 0x1000_01c1)),
    "Not a HALPI2 firmware image: its reset vector 0x100001c1 is outside the application slot 0x10007000–0x10087000 the controller's bootloader starts",
    'a plain Pico SDK image linked at 0x10000000',
  );
  t.match(
    refused(patched(4, 0x1000_7001)),
    /reset vector 0x10007001 is outside the application slot/,
    'into its own vector table',
  );
  t.match(refused(patched(8, 0)), /its NMI vector 0x00000000 is not a Thumb code address/, 'NMI is required');
  t.match(
    refused(patched(12, 0x2000_0101)),
    /its HardFault vector 0x20000101 is outside the application slot/,
    'code in RAM',
  );
  t.equal(refused(patched(16 * 4, 0)), 'accepted', 'an unused interrupt may be 0');
  t.match(
    refused(patched(16 * 4 + 4 * 25, 0x1008_7001)),
    /its IRQ 25 vector 0x10087001 is outside the application slot/,
  );
});

t.test('truncated and oversized images', async (t) => {
  const img = firmwareImage({ bytes: 64 * 1024 });
  t.equal(
    refused(img.subarray(0, 32 * 1024)),
    'Firmware image is truncated: its NMI vector 0x10016fe1 points past its end (32768 bytes, up to 0x1000f000)',
  );
  t.equal(
    refused(img.subarray(0, 100)),
    'Firmware image is truncated: 100 bytes cannot hold the RP2040 vector table (168 bytes)',
  );
  t.equal(
    refused(img.subarray(0, img.length - 1)),
    'Firmware image is truncated: 65535 bytes is not a whole number of 32-bit words',
  );
  t.equal(
    refused(Buffer.concat([firmwareImage({ bytes: MAX_IMAGE_BYTES }), Buffer.alloc(4)])),
    'Firmware image is too large: 524292 bytes (the controller takes at most 524288)',
  );
});
