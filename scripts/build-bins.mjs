// The halpid and halpi bins as esbuild bundles (dist/bin/): a few files to load instead of some
// 300 modules, so both start quickly. Code only some commands need (the configuration schema,
// express for the web listener, the daemon for halpid) sits in chunks loaded on demand.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync('dist/bin', { recursive: true, force: true });
await build({
  entryPoints: { halpid: 'standalone/main.ts', halpi: 'cli/main.ts' },
  outdir: 'dist/bin',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['i2c-bus'],
  // CommonJS dependencies (express, …) call require(): give each ES module one.
  banner: {
    js: "import { createRequire as __halpiCreateRequire } from 'node:module'; const require = __halpiCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
