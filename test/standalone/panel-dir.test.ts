import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { findPanelDir } from '../../standalone/panel-dir.js';

const layout = (t: Test, files: string[]): string => {
  const root = t.testdir();
  for (const f of files) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), '');
  }
  return root;
};

t.test("the npm package: the code in dist/bin finds the package root's public/", async (t) => {
  const root = layout(t, ['public/index.html', 'dist/bin/halpid-run.cjs']);
  t.equal(findPanelDir(join(root, 'dist/bin')), join(root, 'public'));
});

t.test('the Debian package: /usr/lib/halpid finds /usr/lib/halpid/public', async (t) => {
  const root = layout(t, ['usr/lib/halpid/public/index.html', 'usr/lib/halpid/halpid-run.cjs']);
  t.equal(findPanelDir(join(root, 'usr/lib/halpid')), join(root, 'usr/lib/halpid/public'));
});

t.test('a public/ without the panel, or none at all, is no panel', async (t) => {
  const root = layout(t, ['public/other.txt', 'dist/bin/halpid-run.cjs']);
  t.equal(findPanelDir(join(root, 'dist/bin')), undefined);
});
