// The halpid and halpi bins as esbuild bundles (dist/bin/), all CommonJS: with the bin's V8 flags
// Node compiles its own modules from source at every start, and an ES module would make it load
// (and compile) its ES module loader too (docs/performance.md). Each command is two files: an entry
// (halpid.cjs, halpi.cjs) that answers `halpid --version` and plain `halpi status` itself, and the
// rest of the command (halpid-run.cjs, halpi-program.cjs), required on demand. Within a bundle a
// dynamic import() becomes a require() of code initialised when first asked for. The heavy
// libraries only some commands need (express for the web listener, yaml for a configuration file,
// chrono-node for free-form times, busboy for a firmware upload, commander for a command line
// halpid cannot read alone) are bundled on their own in dist/bin/lib/, so the start never
// parses them; they hold no state of ours, and each is one file shared by whichever bundle asks.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';

rmSync('dist/bin', { recursive: true, force: true });
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // import() of our own code or a library becomes require(): no ES module loader.
  supported: { 'dynamic-import': false },
  external: ['i2c-bus'],
  logLevel: 'warning',
};

/** Libraries loaded on demand, each bundled alone as dist/bin/lib/<name>.cjs. */
const LIBS = ['express', 'yaml', 'chrono-node', 'busboy', 'commander'];
for (const lib of LIBS) {
  await build({
    ...common,
    stdin: { contents: `module.exports = require(${JSON.stringify(lib)});`, resolveDir: '.', loader: 'js' },
    outfile: `dist/bin/lib/${lib}.cjs`,
  });
}

/** Imports of the libraries above, and of the rest of a command (`./run.js`, `./program.js`), stay requires of their files. */
const separate = (rest) => ({
  name: 'separate-files',
  setup(b) {
    const libs = new RegExp(`^(${LIBS.join('|')})$`);
    b.onResolve({ filter: libs }, (args) => ({ path: `./lib/${args.path}.cjs`, external: true }));
    for (const [from, to] of Object.entries(rest))
      b.onResolve({ filter: new RegExp(`^\\./${from}\\.js$`) }, () => ({ path: `./${to}.cjs`, external: true }));
  },
});
// import.meta.url (the panel's and the prebuilt addon's search start from the code's own file).
const importMeta = { inject: ['scripts/cjs-import-meta-url.js'], define: { 'import.meta.url': 'importMetaUrl' } };
/**
 * `createRequire` from node:module (engine/i2c-loader.ts) taken from CommonJS's own Module class:
 * the node:module module loads Node's ES module loader, which the bin's V8 flags make it compile.
 */
const cjsModule = {
  name: 'cjs-create-require',
  setup(b) {
    b.onResolve({ filter: /^node:module$/ }, () => ({ path: 'node:module', namespace: 'cjs-module' }));
    b.onLoad({ filter: /.*/, namespace: 'cjs-module' }, () => ({
      contents: 'export const createRequire = (from) => module.constructor.createRequire(from);',
      loader: 'js',
    }));
  },
};

await build({
  ...common,
  ...importMeta,
  entryPoints: { 'halpid-run': 'standalone/run.ts', 'halpi-program': 'cli/program.ts' },
  outdir: 'dist/bin',
  outExtension: { '.js': '.cjs' },
  plugins: [separate({}), cjsModule],
});
/**
 * The entry loads halpid-run.cjs with a V8 code cache named by this hash (standalone/code-cache.ts):
 * V8 checks a cache against the source's length only.
 */
const runHash = createHash('sha256').update(readFileSync('dist/bin/halpid-run.cjs')).digest('hex').slice(0, 16);
await build({
  ...common,
  entryPoints: ['standalone/main.ts'],
  outfile: 'dist/bin/halpid.cjs',
  define: { HALPID_RUN_HASH: JSON.stringify(runHash) },
  plugins: [separate({ run: 'halpid-run' })],
});
await build({
  ...common,
  entryPoints: ['cli/main.ts'],
  outfile: 'dist/bin/halpi.cjs',
  plugins: [separate({ program: 'halpi-program' })],
});
