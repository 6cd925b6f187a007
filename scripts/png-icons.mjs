// The web app manifest's icons (192 and 512 px) scaled from webapp/icon.png at build time, in plain
// Node (zlib): no image library, no native dependency. Reads 8-bit RGBA or RGB, non-interlaced
// PNGs (what icon.png is) and writes RGBA, scaled bilinearly on premultiplied alpha.
import { deflateSync, inflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

export function decodePng(buf) {
  if (!buf.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG');
  let off = 8;
  let width = 0,
    height = 0,
    type = 0;
  const idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const name = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (name === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      type = data[9];
      if (data[8] !== 8 || data[12] !== 0 || (type !== 6 && type !== 2))
        throw new Error('only 8-bit RGB(A), non-interlaced PNGs');
    } else if (name === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const channels = type === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const px = Buffer.alloc(width * height * 4);
  const prev = Buffer.alloc(stride);
  const line = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? line[i - channels] : 0;
      const b = prev[i];
      const c = i >= channels ? prev[i - channels] : 0;
      let v = src[i];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c,
          pa = Math.abs(p - a),
          pb = Math.abs(p - b),
          pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      line[i] = v & 0xff;
    }
    for (let x = 0; x < width; x++) {
      for (let k = 0; k < 4; k++) px[(y * width + x) * 4 + k] = k < channels ? line[x * channels + k] : 255;
    }
    line.copy(prev);
  }
  return { width, height, px };
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (name, data) => {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(name, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
};

export function encodePng({ width, height, px }) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  const raw = Buffer.alloc(height * (width * 4 + 1));
  for (let y = 0; y < height; y++) px.copy(raw, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Bilinear scaling on premultiplied alpha (transparent edges do not darken). */
export function scale(img, size) {
  const { width, height, px } = img;
  const out = Buffer.alloc(size * size * 4);
  const at = (x, y, k) => {
    const i = (Math.min(height - 1, Math.max(0, y)) * width + Math.min(width - 1, Math.max(0, x))) * 4;
    return k === 3 ? px[i + 3] : (px[i + k] * px[i + 3]) / 255;
  };
  for (let y = 0; y < size; y++) {
    const sy = ((y + 0.5) * height) / size - 0.5;
    const y0 = Math.floor(sy),
      fy = sy - y0;
    for (let x = 0; x < size; x++) {
      const sx = ((x + 0.5) * width) / size - 0.5;
      const x0 = Math.floor(sx),
        fx = sx - x0;
      const v = [0, 1, 2, 3].map(
        (k) =>
          at(x0, y0, k) * (1 - fx) * (1 - fy) +
          at(x0 + 1, y0, k) * fx * (1 - fy) +
          at(x0, y0 + 1, k) * (1 - fx) * fy +
          at(x0 + 1, y0 + 1, k) * fx * fy,
      );
      const o = (y * size + x) * 4;
      const a = v[3];
      for (let k = 0; k < 3; k++) out[o + k] = a > 0 ? Math.round(Math.min(255, (v[k] * 255) / a)) : 0;
      out[o + 3] = Math.round(a);
    }
  }
  return { width: size, height: size, px: out };
}
