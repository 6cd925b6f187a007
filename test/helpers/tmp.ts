// Temporary directories for tests. Each one is removed when the test process exits, whether its
// test passed, failed or threw. A process tap kills on timeout (SIGKILL) runs no exit handler,
// so all of them live under one root per run: HALPI2_TEST_TMP, which .ci/run creates and removes
// at the end whatever happened (docs/testing.md). Without it, the system's temporary directory.
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where every test's temporary directories go. */
export const TEST_TMP = process.env.HALPI2_TEST_TMP || tmpdir();
mkdirSync(TEST_TMP, { recursive: true });
// Open to every user, sticky, as /tmp is: some tests run a program as another user (nobody; uid
// 1000 as HaLOS runs Signal K) that must reach or make its own directory here.
if (process.env.HALPI2_TEST_TMP) chmodSync(TEST_TMP, 0o1777);

const dirs = new Set<string>();
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(TEST_TMP, prefix));
  dirs.add(dir);
  return dir;
}

/** Remove one now (a test that wants its directory gone before the process ends). */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}
