#!/usr/bin/env -S node --max-semi-space-size=1 --max-old-space-size=32
// The V8 flags keep the daemon small (docs/performance.md): a 1 MiB young generation instead of
// growing to 32 MiB, and an old space cap far above what it uses, at no cost in throughput. The
// tick's lower interrupt budget is set once the daemon runs (v8-tuning.ts).
// halpid: the process entry, built as CommonJS (dist/bin/halpid.cjs, scripts/build-bins.mjs).
// `halpid --version` answers here, loading nothing else (scripts and package tools call it, and it
// costs a whole Node start already); everything else is in run.ts, an ES module.

import { VERSION } from '../engine/version.js';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) process.stdout.write(`halpid ${VERSION}\n`);
else void import('./run.js');
