// Builds the panel into public/ (docs/panel.md): the TypeScript bundled and minified by esbuild,
// uPlot's stylesheet ahead of ours, the page and the icon, and .gz/.br copies of the larger files
// (the Signal K server serves them). Offline: no CDN, no fonts.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { decodePng, encodePng, scale } from './png-icons.mjs';

const out = 'public';
rmSync(out, { recursive: true, force: true });
mkdirSync(out);
await build({
  entryPoints: ['webapp/src/main.ts'],
  bundle: true,
  format: 'esm',
  minify: true,
  target: ['chrome100', 'firefox100', 'safari15'],
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
  legalComments: 'eof',
});
writeFileSync(
  join(out, 'style.css'),
  readFileSync('node_modules/uplot/dist/uPlot.min.css', 'utf8') + '\n' + readFileSync('webapp/style.css', 'utf8'),
);
copyFileSync('webapp/index.html', join(out, 'index.html'));
copyFileSync('webapp/icon.png', join(out, 'icon.png'));
// The manifest (so the panel can sit on a tablet's home screen) and its icons, from icon.png.
copyFileSync('webapp/manifest.webmanifest', join(out, 'manifest.webmanifest'));
const icon = decodePng(readFileSync('webapp/icon.png'));
for (const size of [192, 512]) writeFileSync(join(out, `icon-${size}.png`), encodePng(scale(icon, size)));
let total = 0;
for (const f of ['index.html', 'app.js', 'style.css', 'icon.png']) {
  const size = statSync(join(out, f)).size;
  total += size;
  if (size > 1024 && !f.endsWith('.png')) {
    const data = readFileSync(join(out, f));
    writeFileSync(join(out, `${f}.gz`), gzipSync(data, { level: 9 }));
    writeFileSync(join(out, `${f}.br`), brotliCompressSync(data));
  }
}
if (total > 100 * 1024) throw new Error(`the panel is ${total} bytes, more than 100 KB`);
