// The halpid and halpi bins as esbuild bundles (dist/bin/): a few files to load instead of some
// 300 modules, so both start quickly. The entries are CommonJS (halpid.cjs, halpi.cjs): Node loads
// a CommonJS file without its ES module loader, whose own modules it would otherwise compile at
// every start the bin's V8 flags are given (docs/performance.md). They answer `halpid --version`
// and plain `halpi status` themselves; everything else is ES modules in chunks/ (halpid-run.mjs,
// halpi-program.mjs and what they share), and code only some commands need (the configuration
// schema, express for the web listener, the daemon) sits in chunks loaded on demand.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync('dist/bin', { recursive: true, force: true });
const common = { bundle: true, platform: 'node', target: 'node20', external: ['i2c-bus'], logLevel: 'warning' };

await build({
  ...common,
  entryPoints: { 'halpid-run': 'standalone/run.ts', 'halpi-program': 'cli/program.ts' },
  outdir: 'dist/bin/chunks',
  outExtension: { '.js': '.mjs' },
  chunkNames: '[name]-[hash]',
  splitting: true,
  format: 'esm',
  // CommonJS dependencies (express, …) call require(): give each ES module one.
  banner: {
    js: "import { createRequire as __halpiCreateRequire } from 'node:module'; const require = __halpiCreateRequire(import.meta.url);",
  },
});

/** The entries' one dynamic import, of the rest of their command, stays an import of its ES module. */
const rest = (from, to) => ({
  name: 'rest-of-the-command',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^\\./${from}\\.js$`) }, () => ({ path: `./chunks/${to}.mjs`, external: true }));
  },
});
await build({
  ...common,
  entryPoints: ['standalone/main.ts'],
  outfile: 'dist/bin/halpid.cjs',
  format: 'cjs',
  plugins: [rest('run', 'halpid-run')],
});
await build({
  ...common,
  entryPoints: ['cli/main.ts'],
  outfile: 'dist/bin/halpi.cjs',
  format: 'cjs',
  plugins: [rest('program', 'halpi-program')],
});
