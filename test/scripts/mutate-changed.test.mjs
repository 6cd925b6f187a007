// What `npm run mutate:changed` would mutate for a change: the groups and files, and with
// --lines (what CI runs) only the lines the change added.
import t from 'tap';
import { addedRanges, plan } from '../../scripts/mutate-changed.mjs';

const GROUPS = {
  nut: [['engine/nut/*.ts'], ['test/engine/nut/server.test.ts']],
  engine: [['engine/engine.ts'], ['test/engine/engine.test.ts', 'test/engine/supply.test.ts']],
  supply: [['engine/supervisor.ts'], ['test/engine/supply.test.ts']],
};
const asObject = (m) => Object.fromEntries([...m].map(([g, s]) => [g, [...s].sort()]));

t.test('a changed source file is mutated itself, a changed test mutates its groups', async (t) => {
  t.same(asObject(plan(['engine/nut/server.ts', 'README.md'], GROUPS)), { nut: ['engine/nut/server.ts'] });
  t.same(asObject(plan(['test/engine/supply.test.ts'], GROUPS)), {
    engine: ['engine/engine.ts'],
    supply: ['engine/supervisor.ts'],
  });
  t.same(asObject(plan(['docs/testing.md'], GROUPS)), {});
});

t.test('--lines mutates what a source change added, nothing for a test change', async (t) => {
  t.same(asObject(plan(['test/engine/supply.test.ts', 'engine/engine.ts'], GROUPS, { lines: true })), {
    engine: ['engine/engine.ts'],
  });
  t.same(asObject(plan(['test/engine/nut/server.test.ts'], GROUPS, { lines: true })), {});
});

t.test('the added lines of a diff: ranges of the new side, deletions left out', async (t) => {
  const diff = [
    'diff --git a/engine/engine.ts b/engine/engine.ts',
    '--- a/engine/engine.ts',
    '+++ b/engine/engine.ts',
    '@@ -10,0 +11,3 @@ class Engine {', // three lines added
    '+a',
    '+b',
    '+c',
    '@@ -40 +43 @@ tick() {', // one line rewritten (counts omitted)
    '-x',
    '+y',
    '@@ -60,2 +62,0 @@', // two lines deleted
    '-p',
    '-q',
    '@@ -70,2 +70,2 @@',
    '+@@ -1 +999 @@ not a hunk header, a line that looks like one is in a string',
  ].join('\n');
  t.same(addedRanges(diff), [
    [11, 13],
    [43, 43],
    [70, 71],
  ]);
});
