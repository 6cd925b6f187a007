// The web app manifest and its icons, so the panel can sit on a tablet's home screen: served by
// halpid's web listener with the manifest content type, and in public/ for Signal K.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';

let d: RunningDaemon;
let base: string;

t.before(async () => {
  const port = await freePort();
  d = await startDaemon(['--web', `127.0.0.1:${port}`]);
  base = `http://127.0.0.1:${port}/`;
});
t.teardown(() => d?.stop());

/** Width and height from a PNG's IHDR. */
const pngSize = (b: Buffer): [number, number] => {
  if (b.toString('latin1', 1, 4) !== 'PNG' || b.toString('latin1', 12, 16) !== 'IHDR') throw new Error('not a PNG');
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
};

t.test('halpid serves the manifest with its content type, and the page links it', async (t) => {
  const r = await fetch(`${base}manifest.webmanifest`);
  t.equal(r.status, 200);
  t.match(r.headers.get('content-type'), /^application\/manifest\+json/);
  const m = (await r.json()) as {
    name: string;
    start_url: string;
    display: string;
    icons: Array<{ src: string; sizes: string; type: string }>;
  };
  t.equal(m.name, 'HALPI2 power');
  t.equal(m.display, 'standalone');
  t.equal(m.start_url, './', 'relative: works under / and under /signalk-halpi2/');
  t.same(m.icons.map((i) => i.sizes).sort(), ['192x192', '512x512']);
  for (const icon of m.icons) {
    const res = await fetch(new URL(icon.src, base));
    t.equal(res.status, 200, icon.src);
    t.equal(res.headers.get('content-type'), 'image/png');
    const [w, h] = pngSize(Buffer.from(await res.arrayBuffer()));
    t.equal(`${w}x${h}`, icon.sizes, `${icon.src} is as large as it says`);
  }
  t.match(await (await fetch(base)).text(), /<link rel="manifest" href="manifest.webmanifest" ?\/?>/);
});

t.test('the manifest and the icons are in public/ for the Signal K server', async (t) => {
  const m = JSON.parse(readFileSync(join(ROOT, 'public', 'manifest.webmanifest'), 'utf8')) as {
    icons: Array<{ src: string; sizes: string }>;
  };
  for (const icon of m.icons) t.equal(pngSize(readFileSync(join(ROOT, 'public', icon.src))).join('x'), icon.sizes);
});
