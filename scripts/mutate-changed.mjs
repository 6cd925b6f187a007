// Mutation testing of what a change touched (docs/testing.md): the files changed since a base
// (default: the last commit, HEAD~1) are mapped to the Stryker groups of stryker.config.mjs. A
// changed source file is mutated itself; a changed test file of a group has the group's source
// files mutated (a weaker test can let mutants through). Fails when a mutated file scores below
// 90 %, or when Stryker fails.
//
// With --lines only the lines a change added or rewrote are mutated (a changed test file then
// mutates nothing): what CI runs on the last commit, bounded by the size of the change rather than
// of the files. An equivalent mutant on such a line is marked where it stands
// (`// Stryker disable next-line <mutator>: <reason>`), since the score counts every mutant made.
//
//   npm run mutate:changed                 # the last commit
//   npm run mutate:changed -- origin/main  # everything since the merge base with origin/main
//   npm run mutate:changed -- --dry-run   # only say what would be mutated
//   npm run mutate:changed -- --lines      # only the changed lines (CI)
//   MUTATE_CONCURRENCY=2 npm run mutate:changed
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { GROUPS } from '../stryker.config.mjs';

export const THRESHOLD = 90;

const dryRun = process.argv.includes('--dry-run');
const linesOnly = process.argv.includes('--lines');
const args = process.argv.slice(2).filter((a) => a !== '--dry-run' && a !== '--lines');
if (args.includes('--help') || args.length > 1 || args.some((a) => a.startsWith('-'))) {
  console.log('usage: npm run mutate:changed -- [--dry-run] [--lines] [<base>]   (base: a commit; default HEAD~1)');
  process.exit(args.includes('--help') ? 0 : 2);
}
const base = args[0] ?? 'HEAD~1';
const range = args[0] ? [`${base}...HEAD`] : [base, 'HEAD'];

/** A group's source pattern (a path, or `dir/*.ts`) as a test of a path. */
const matcher = (pattern) => {
  const re = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  return (path) => re.test(path);
};

/** Which groups, and which of their files, the changed paths call for. */
export function plan(changed, groups = GROUPS, { lines = false } = {}) {
  const chosen = new Map();
  const add = (g, file) => {
    if (!chosen.has(g)) chosen.set(g, new Set());
    chosen.get(g).add(file);
  };
  for (const [g, [sources, tests]] of Object.entries(groups)) {
    const isSource = sources.map(matcher);
    for (const path of changed) {
      if (isSource.some((m) => m(path))) add(g, path);
      if (!lines && tests.includes(path)) for (const s of sources) add(g, s);
    }
  }
  return chosen;
}

/** The new side's line ranges of `git diff -U0` hunks (`@@ -a,b +c,d @@`), deletions left out. */
export function addedRanges(diff) {
  const ranges = [];
  for (const m of diff.matchAll(/^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@/gm)) {
    const start = Number(m[1]);
    const count = m[2] === undefined ? 1 : Number(m[2]);
    if (count > 0) ranges.push([start, start + count - 1]);
  }
  return ranges;
}

// Run as a command (not when its test imports plan() and addedRanges()).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();

function main() {
  const git = (...a) => execFileSync('git', a, { encoding: 'utf8' });
  // A clone of one commit (git clone --depth 1) has no HEAD~1 to compare with.
  if (spawnSync('git', ['rev-parse', '--verify', '-q', `${base}^{commit}`]).status !== 0) {
    if (args[0]) {
      console.error(`mutate:changed: no commit ${base} in this clone`);
      process.exit(2);
    }
    console.log(`mutate:changed: no commit ${base} in this clone (a shallow clone?); nothing to compare`);
    process.exit(0);
  }
  const changed = git('diff', '--name-only', '--diff-filter=d', ...range, '--')
    .split('\n')
    .filter(Boolean);
  const chosen = plan(changed, GROUPS, { lines: linesOnly });
  if (chosen.size === 0) {
    console.log(`mutate:changed: no file of a Stryker group changed (${range.join(' ')}); nothing to do`);
    process.exit(0);
  }
  const groups = [...chosen.keys()];
  const all = [...new Set([...chosen.values()].flatMap((s) => [...s]))];
  // A file a chosen pattern (`engine/nut/*.ts`) covers already is not named again.
  const globs = all.filter((f) => f.includes('*')).map(matcher);
  const files = all.filter((f) => f.includes('*') || !globs.some((m) => m(f)));
  // --lines: each file as the ranges its change added (`file:12-15`); a file whose change only
  // deleted lines has nothing to mutate.
  const targets = linesOnly
    ? files.flatMap((f) => addedRanges(git('diff', '-U0', ...range, '--', f)).map(([a, b]) => `${f}:${a}-${b}`))
    : files;
  console.log(`mutate:changed: groups ${groups.join(', ')}; ${linesOnly ? 'lines' : 'files'} ${targets.join(', ')}`);
  if (dryRun || targets.length === 0) process.exit(0);
  const stryker = spawnSync(
    'npx',
    [
      'stryker',
      'run',
      '--incremental',
      '--concurrency',
      process.env.MUTATE_CONCURRENCY ?? '1',
      '--reporters',
      'clear-text,progress,json',
      '--mutate',
      targets.join(','),
    ],
    { stdio: 'inherit', env: { ...process.env, MUTATE: groups.join(',') } },
  );
  if (stryker.status !== 0) {
    console.error(`mutate:changed: stryker failed (${stryker.status ?? stryker.signal})`);
    process.exit(1);
  }

  // The score of each file, from the JSON report (mutation-testing-report-schema).
  const report = `reports/mutation/${groups.join('-')}.json`;
  if (!existsSync(report)) {
    console.error(`mutate:changed: no report at ${report}`);
    process.exit(1);
  }
  const detected = new Set(['Killed', 'Timeout']);
  const counted = new Set(['Killed', 'Timeout', 'Survived', 'NoCoverage']);
  const isChosen = files.map(matcher);
  let failed = false;
  for (const [path, { mutants }] of Object.entries(JSON.parse(readFileSync(report, 'utf8')).files)) {
    const rel = path.replace(`${process.cwd()}/`, '');
    if (!isChosen.some((m) => m(rel))) continue;
    const n = mutants.filter((m) => counted.has(m.status)).length;
    const d = mutants.filter((m) => detected.has(m.status)).length;
    const score = n ? (100 * d) / n : 100;
    const ok = score >= THRESHOLD;
    failed ||= !ok;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${rel}: ${score.toFixed(1)} % (${d} of ${n} detected)`);
    for (const m of mutants.filter((x) => !detected.has(x.status) && counted.has(x.status)))
      console.log(`       ${m.status} ${rel}:${m.location.start.line} ${m.mutatorName} ${m.replacement ?? ''}`);
  }
  if (failed) {
    console.error(`mutate:changed: below ${THRESHOLD} %: see the survivors above, and docs/testing.md`);
    process.exit(1);
  }
}
