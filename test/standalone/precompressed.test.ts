// The panel's .br/.gz copies over HTTP (standalone/precompressed.ts, behind createWebApp): which
// encoding a request gets, and the headers that go with it.
import t from 'tap';
import { serveOnLoopback } from '../helpers/net.js';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { createApi } from '../../engine/api/router.js';
import { pickEncoding } from '../../standalone/precompressed.js';
import { createWebApp } from '../../standalone/web.js';
import { ROOT } from '../helpers/daemon.js';
import { engineRig } from '../helpers/engine.js';

t.test('br first, then gzip, as the request allows; q=0 refuses; * stands for the others', async (t) => {
  const both = new Set(['br', 'gzip'] as const);
  const cases: Array<[string | undefined, string | null]> = [
    [undefined, null],
    ['', null],
    ['identity', null],
    ['gzip, deflate', 'gzip'],
    ['gzip, deflate, br', 'br'],
    ['br;q=0.1, gzip;q=1', 'br'],
    ['br;q=0, gzip', 'gzip'],
    ['gzip;q=0, br;q=0', null],
    ['*', 'br'],
    ['br;q=0, *', 'gzip'],
    ['*;q=0', null],
    ['BR', 'br'],
    ['x-gzip', 'gzip'],
    ['deflate', null],
  ];
  for (const [header, want] of cases) t.equal(pickEncoding(header, both), want, String(header));
  t.equal(pickEncoding('br, gzip', new Set(['gzip'] as const)), 'gzip', 'only the copies that exist');
});

interface Got {
  status: number;
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

async function listen(t: { teardown(fn: () => unknown): void }, panelDir: string) {
  const { engine } = engineRig();
  const api = createApi({ engine, version: 'test', dialect: () => 5, flash: false });
  const port = await serveOnLoopback(
    t,
    createWebApp({ api, bound: { host: '127.0.0.1', port: 1 }, token: () => '', panelDir }),
  );
  return (path: string, acceptEncoding?: string, method = 'GET') =>
    new Promise<Got>((resolve, reject) => {
      const headers: Record<string, string> = { Host: `127.0.0.1:${port}` };
      if (acceptEncoding !== undefined) headers['Accept-Encoding'] = acceptEncoding;
      httpRequest({ host: '127.0.0.1', port, path, method, agent: false, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }),
        );
      })
        .on('error', reject)
        .end();
    });
}

t.test('a panel directory with copies: headers and bodies for each encoding', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'halpid-panel-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const js = Buffer.from(`export const x = ${JSON.stringify('the panel '.repeat(400))};\n`);
  const html = Buffer.from(`<!doctype html><title>panel</title>${'<p>row</p>'.repeat(200)}`);
  writeFileSync(join(dir, 'app.js'), js);
  writeFileSync(join(dir, 'app.js.br'), brotliCompressSync(js));
  writeFileSync(join(dir, 'app.js.gz'), gzipSync(js));
  writeFileSync(join(dir, 'index.html'), html);
  writeFileSync(join(dir, 'index.html.gz'), gzipSync(html));
  writeFileSync(join(dir, 'icon.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  const get = await listen(t, dir);

  const plain = await get('/app.js');
  t.same(
    [plain.status, plain.headers['content-encoding'], plain.headers.vary, plain.body.equals(js)],
    [200, undefined, 'Accept-Encoding', true],
    'no Accept-Encoding: the file itself, with Vary',
  );
  const type = plain.headers['content-type'];
  t.match(type, /javascript/);

  const br = await get('/app.js', 'gzip, deflate, br');
  t.same(
    [br.status, br.headers['content-encoding'], br.headers.vary, br.headers['content-type']],
    [200, 'br', 'Accept-Encoding', type],
  );
  t.equal(
    br.headers['content-length'],
    String(statSync(join(dir, 'app.js.br')).size),
    'the length of the compressed copy',
  );
  t.ok(brotliDecompressSync(br.body).equals(js), 'decodes to the file');

  const gz = await get('/app.js?v=2', 'gzip');
  t.same(
    [gz.headers['content-encoding'], gz.headers['content-type'], gz.headers['content-length']],
    ['gzip', type, String(statSync(join(dir, 'app.js.gz')).size)],
  );
  t.ok(gunzipSync(gz.body).equals(js));

  const refused = await get('/app.js', 'br;q=0, gzip;q=0');
  t.same(
    [refused.headers['content-encoding'], refused.headers.vary, refused.body.equals(js)],
    [undefined, 'Accept-Encoding', true],
  );

  const head = await get('/app.js', 'br', 'HEAD');
  t.same(
    [head.status, head.headers['content-encoding'], head.headers['content-length'], head.body.length],
    [200, 'br', String(statSync(join(dir, 'app.js.br')).size), 0],
  );

  const index = await get('/', 'br, gzip');
  t.same(
    [index.headers['content-encoding'], index.headers['content-type']],
    ['gzip', 'text/html; charset=utf-8'],
    '/ is index.html, which has only a .gz',
  );
  t.ok(gunzipSync(index.body).equals(html));

  const icon = await get('/icon.png', 'br, gzip');
  t.same(
    [icon.headers['content-encoding'], icon.headers.vary],
    [undefined, undefined],
    'a file without copies is as before',
  );
  t.equal(
    (await get('/app.js.br', 'br')).headers['content-encoding'],
    undefined,
    'a copy asked for by name is just a file',
  );
  t.equal((await get('/missing.js', 'br')).status, 404);

  rmSync(join(dir, 'app.js.br'));
  const gone = await get('/app.js', 'br');
  t.same(
    [gone.status, gone.headers['content-encoding'], gone.body.equals(js)],
    [200, undefined, true],
    'a copy removed since the start: the file itself',
  );
});

t.test('the built panel: its bundle is sent compressed, at most 40% of its size', async (t) => {
  const dir = join(ROOT, 'public');
  const get = await listen(t, dir);
  const size = statSync(join(dir, 'app.js')).size;
  const r = await get('/app.js', 'gzip, deflate, br');
  t.equal(r.headers['content-encoding'], 'br');
  t.ok(r.body.length <= size * 0.4, `${r.body.length} bytes sent for ${size}`);
  t.ok(brotliDecompressSync(r.body).equals(readFileSync(join(dir, 'app.js'))));
  t.equal((await get('/style.css', 'gzip')).headers['content-encoding'], 'gzip');
});
