// halpid's entry loads the rest of the daemon with a V8 code cache (standalone/code-cache.ts): the
// module must behave as CommonJS would load it, and the cache must only ever help — absent,
// corrupt, of another build or unwritable, the code still loads and runs.
import t from 'tap';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Module } from 'node:module';
import { join } from 'node:path';
import { requireWithCodeCache, type ModuleClass } from '../../standalone/code-cache.js';
import { startDaemon } from '../helpers/daemon.js';
import { tempDir } from '../helpers/tmp.js';

const M = Module as unknown as ModuleClass;

/** A bundle-like CommonJS file that requires a sibling and a built-in, and can throw. */
function bundle(): { dir: string; file: string } {
  const dir = tempDir('halpi2-cache-');
  writeFileSync(join(dir, 'sibling.cjs'), 'module.exports = 41;\n');
  const file = join(dir, 'run.cjs');
  writeFileSync(
    file,
    [
      "'use strict';",
      "const { basename } = require('node:path');",
      "exports.answer = require('./sibling.cjs') + 1;",
      'exports.where = basename(__filename) + " in " + basename(__dirname);',
      'exports.self = module.exports === exports && module.filename === __filename;',
      'exports.fail = () => {',
      "  throw new Error('line 7');",
      '};',
      '',
    ].join('\n'),
  );
  return { dir, file };
}

type Exports = { answer: number; where: string; self: boolean; fail: () => never };

t.test('loads a file as CommonJS would: its requires, names and line numbers', async (t) => {
  const { dir, file } = bundle();
  const r = requireWithCodeCache(M, file, 'abc', dir);
  const e = r.exports as Exports;
  t.equal(e.answer, 42, 'a relative require and a built-in');
  t.equal(e.where, `run.cjs in ${dir.split('/').at(-1)}`, '__filename and __dirname');
  t.ok(e.self, 'module and exports');
  const err = t.throws(() => e.fail()) as Error;
  t.match(err.stack, `${file}:7:`, 'errors point at the file and its line');
  t.notOk(r.accepted, 'no cache yet');
});

t.test('saves a cache V8 then takes; another build never reads it', async (t) => {
  const { dir, file } = bundle();
  const first = requireWithCodeCache(M, file, 'abc', dir);
  first.save();
  t.same(
    readdirSync(dir).filter((f) => f.endsWith('.v8cache')),
    ['run-abc.v8cache'],
    'one cache, named by the hash, no temporary file left',
  );
  const second = requireWithCodeCache(M, file, 'abc', dir);
  t.ok(second.accepted, 'V8 took it');
  t.equal((second.exports as Exports).answer, 42, 'and the code runs');
  const before = readFileSync(join(dir, 'run-abc.v8cache'));
  second.save();
  t.same(readFileSync(join(dir, 'run-abc.v8cache')), before, 'a cache taken is not written again');
  const other = requireWithCodeCache(M, file, 'def', dir);
  t.notOk(other.accepted, 'another hash: not read');
});

t.test('a corrupt cache is rejected, the code still runs, and the cache is written anew', async (t) => {
  const { dir, file } = bundle();
  writeFileSync(join(dir, 'run-abc.v8cache'), Buffer.alloc(4096, 7));
  const r = requireWithCodeCache(M, file, 'abc', dir);
  t.notOk(r.accepted, 'rejected');
  t.equal((r.exports as Exports).answer, 42, 'loaded from source');
  r.save();
  t.ok(requireWithCodeCache(M, file, 'abc', dir).accepted, 'the new cache is taken');
});

t.test('a place that cannot take the cache changes nothing', async (t) => {
  const { dir, file } = bundle();
  const blocked = join(dir, 'not-a-dir');
  writeFileSync(blocked, ''); // a file where a directory should be: mkdir and writes fail, even as root
  const r = requireWithCodeCache(M, file, 'abc', join(blocked, 'cache'));
  t.equal((r.exports as Exports).answer, 42, 'the code loads');
  t.match(r.save(), `${blocked}/cache cannot take it`, 'saving says so, and does not throw');
  const spare = join(dir, 'spare');
  requireWithCodeCache(M, file, 'abc', spare).save();
  t.ok(existsSync(join(spare, 'run-abc.v8cache')), 'a directory not there yet is made');
});

const CACHE = /halpid-run-[0-9a-f]{16}\.v8cache/;
/** The daemon says what it did with its cache once it has run a second (DEBUG=halpid:start). */
const said = (d: Awaited<ReturnType<typeof startDaemon>>) => d.waitLog(/halpid:start code cache/);

t.test('the daemon writes its cache into CACHE_DIRECTORY once it runs, then starts with it', async (t) => {
  const cache = tempDir('halpi2-cache-');
  const env = { CACHE_DIRECTORY: cache, DEBUG: 'halpid:start' };
  const d = await startDaemon([], env);
  t.match(await said(d), `code cache: none; written to ${cache}/`);
  t.equal((await d.req('GET', '/values')).status, 200);
  await d.stop();
  const [name] = readdirSync(cache);
  t.match(name, CACHE, 'one file, named by the hash of the bundle');
  const again = await startDaemon([], env);
  t.match(await said(again), `code cache ${cache}/${name} taken`, 'the next start compiles with it');
  t.equal((await again.req('GET', '/values')).status, 200, 'and answers');
  await again.stop();

  writeFileSync(join(cache, name!), Buffer.alloc(1024, 1));
  const corrupt = await startDaemon([], env);
  t.match(
    await said(corrupt),
    `code cache: ${cache}/${name} rejected; written to ${cache}/`,
    'a corrupt cache: replaced',
  );
  t.equal((await corrupt.req('GET', '/values')).status, 200, 'and the daemon answers');
  await corrupt.stop();

  // A cache directory that cannot be (a file in its path), as a read-only one for the .deb's /usr.
  const blocked = join(cache, name!, 'sub');
  const nowhere = await startDaemon([], { ...env, CACHE_DIRECTORY: blocked });
  t.equal((await nowhere.req('GET', '/values')).status, 200, 'an unusable CACHE_DIRECTORY: the daemon answers');
  t.match(await said(nowhere), `code cache: none; ${blocked} cannot take it`);
  await nowhere.stop();
});
