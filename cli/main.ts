#!/usr/bin/env node
// halpi: the command-line client of halpid (docs/cli.md). Plain `halpi status` (with at most
// --socket, --json, --no-color), the command typed most and run by scripts, skips the argument
// parser (commander, a third of its start-up); any other command line goes to program.ts. Built as
// CommonJS (dist/bin/halpi.cjs, scripts/build-bins.mjs), so no top-level await.

import { reportError, status, type Globals } from './status.js';

/** The options of plain `halpi status`, or null when anything else is on the line. */
function plainStatus(args: string[]): Globals | null {
  const g: Globals = {};
  let seen = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === 'status' && !seen) seen = true;
    else if (a === '--json') g.json = true;
    else if (a === '--no-color') g.color = false;
    else if ((a === '-s' || a === '--socket') && args[i + 1] !== undefined && !args[i + 1]!.startsWith('-'))
      g.socket = args[++i];
    else if (a.startsWith('--socket=') && a.length > 9) g.socket = a.slice(9);
    else return null;
  }
  return seen ? g : null;
}

const g = plainStatus(process.argv.slice(2));
const exitCode = g
  ? status(g).then(
      () => 0,
      (err: unknown) => reportError(err, g),
    )
  : import('./program.js').then(({ main }) => main(process.argv));
void exitCode.then((code) => {
  process.exitCode = code;
});
