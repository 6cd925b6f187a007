// Where the built panel is. halpid's code sits in dist/bin/ in the npm package, /usr/lib/halpid/ in
// the Debian one, or dist/standalone/ when built by tsc, so the panel's public/ is looked for a few folders up
// rather than at a fixed depth.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The nearest `public/` holding the panel's index.html, from `start` up to four folders above it. */
export function findPanelDir(start: string): string | undefined {
  let dir = start;
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'public');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}
