// node:child_process on first use. The daemon runs a command only for a poweroff, an rtcwake or a
// group looked up through NSS, and loading the module (with node:dgram and the rest it brings)
// is about 3 ms of a start under the bin's V8 flags, which make Node compile its own modules from
// source (docs/performance.md). halpid loads it a second after its start, so a blackout's poweroff
// never waits for it.
import type * as ChildProcess from 'node:child_process';
import { createRequire } from 'node:module';

let loaded: typeof ChildProcess | null = null;

export function childProcess(): typeof ChildProcess {
  loaded ??= createRequire(import.meta.url)('node:child_process') as typeof ChildProcess;
  return loaded;
}
