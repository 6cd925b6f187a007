// The hostile clients of test/helpers/hostile.ts in a process of their own, as other machines
// would be: their work never delays the test's own measurements. Arguments: NUT port, web port,
// seconds, and optionally a comma-separated list of attacker names. Prints the counts as JSON.
import { NUT_ATTACKERS, WEB_ATTACKERS, type SoakContext } from './hostile.js';

const [nutPort, webPort, seconds, only] = process.argv.slice(2);
const names = only?.split(',');
const counts: Record<string, Record<string, number>> = {};
const ctx: SoakContext = {
  nutPort: Number(nutPort),
  webPort: Number(webPort),
  until: Date.now() + Number(seconds) * 1000,
  count: (a, what) => {
    (counts[a] ??= {})[what] = (counts[a]![what] ?? 0) + 1;
  },
};
const attackers = [...NUT_ATTACKERS, ...WEB_ATTACKERS].filter((a) => !names || names.includes(a.name));
await Promise.all(attackers.map((a) => a.run(ctx)));
process.stdout.write(`${JSON.stringify(counts)}\n`);
