// node:child_process on first use. The daemon runs a command only for a poweroff, an rtcwake or a
// group looked up through NSS, yet loading the module (with node:dgram and the rest it brings)
// at every start means compiling them from source under the bin's V8 flags and keeping them in
// memory (docs/performance.md). halpid loads it a second after its start, so a blackout's poweroff
// never waits for it.
import type * as ChildProcess from 'node:child_process';
import { createRequire } from 'node:module';

let loaded: typeof ChildProcess | null = null;

export function childProcess(): typeof ChildProcess {
  loaded ??= createRequire(import.meta.url)('node:child_process') as typeof ChildProcess;
  return loaded;
}
