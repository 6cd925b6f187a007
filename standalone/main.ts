#!/usr/bin/env -S node --max-semi-space-size=1 --max-old-space-size=32
// The V8 flags keep the daemon small (docs/performance.md): a 1 MiB young generation instead of
// growing to 32 MiB, and an old space cap far above what it uses, at no cost in throughput. The
// tick's lower interrupt budget is set once the daemon runs (v8-tuning.ts).
// halpid: the process entry, built as CommonJS (dist/bin/halpid.cjs, scripts/build-bins.mjs).
// `halpid --version` answers here, loading nothing else (scripts and package tools call it, and it
// costs a whole Node start already); everything else is in run.ts (dist/bin/halpid-run.cjs), which
// the built entry loads with a V8 code cache (code-cache.ts).

import { VERSION } from '../engine/version.js';
import type { ModuleClass } from './code-cache.js';

/** A hash of dist/bin/halpid-run.cjs, defined by the build; absent when run from the sources. */
declare const HALPID_RUN_HASH: string | undefined;

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) process.stdout.write(`halpid ${VERSION}\n`);
else if (typeof HALPID_RUN_HASH === 'string') {
  const hash = HALPID_RUN_HASH;
  // Within the entry's bundle, initialised only here: `--version` loads no node:vm.
  void import('./code-cache.js').then(({ requireWithCodeCache }) => {
    // Where the cache is read and written: systemd's CacheDirectory= (the .deb's unit: /usr is
    // read-only there), else beside the bundle (an npm install, a build tree).
    const dir = process.env.CACHE_DIRECTORY?.split(':')[0] || __dirname;
    const Module = module.constructor as unknown as ModuleClass;
    const run = requireWithCodeCache(Module, `${__dirname}/halpid-run.cjs`, hash, dir);
    (run.exports as typeof import('./run.js')).beforeTuning.push(() => run.save());
  });
} else void import('./run.js');
