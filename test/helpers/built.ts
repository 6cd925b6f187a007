// The built artefacts the integration tests run (the halpid and halpi bins, the plugin bundle, the
// panel), rebuilt when a source is newer. `npm test` builds everything first, so this is for a
// single-file run (`npx tap test/x.test.ts`) after an edit: without it, that run would silently
// test the previous build. Only esbuild steps run here (a second or two each); the type check
// stays with `npm run build`. HALPI2_NO_REBUILD=1 warns instead of rebuilding (docs/testing.md).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');

interface Artefact {
  name: string;
  output: string;
  sources: string[];
  command: string[];
}

const ARTEFACTS: Artefact[] = [
  {
    name: 'the bins (dist/bin)',
    output: 'dist/bin/halpid.cjs',
    sources: ['engine', 'standalone', 'cli', 'scripts/build-bins.mjs'],
    command: ['node', 'scripts/build-bins.mjs'],
  },
  {
    name: 'the plugin (dist/plugin)',
    output: 'dist/plugin/index.cjs',
    sources: ['engine', 'plugin'],
    command: ['npm', 'run', '--silent', 'build:plugin'],
  },
  {
    name: 'the panel (public)',
    output: 'public/app.js',
    sources: ['webapp', 'scripts/build-webapp.mjs'],
    command: ['node', 'scripts/build-webapp.mjs'],
  },
];

/** The newest modification time under `path` (a file or a directory of sources). */
function newest(path: string): number {
  const s = statSync(path, { throwIfNoEntry: false });
  if (!s) return 0;
  if (!s.isDirectory()) return s.mtimeMs;
  let latest = 0;
  for (const e of readdirSync(path)) latest = Math.max(latest, newest(join(path, e)));
  return latest;
}

function stale(a: Artefact): boolean {
  const out = statSync(join(ROOT, a.output), { throwIfNoEntry: false });
  return !out || a.sources.some((s) => newest(join(ROOT, s)) > out.mtimeMs);
}

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Tap runs test files in parallel: one rebuilds at a time (a directory as the lock), and the
 * others find the artefact fresh once they hold it. A lock left by a killed run is taken over
 * after two minutes.
 */
function withLock(fn: () => void): void {
  const lock = join(ROOT, 'dist', '.rebuild-lock');
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const start = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 120_000) {
        rmdirSync(lock);
        continue;
      }
      if (Date.now() - start > 180_000)
        throw new Error(`test/helpers/built.ts: ${lock} held for 3 minutes; remove it if no build runs`);
      pause(100);
    }
  }
  try {
    fn();
  } finally {
    rmdirSync(lock);
  }
}

let checked = false;

/** Rebuild every stale artefact (or warn, with HALPI2_NO_REBUILD=1); once per test process. */
export function ensureBuilt(): void {
  if (checked) return;
  checked = true;
  if (!ARTEFACTS.some(stale)) return;
  if (process.env.HALPI2_NO_REBUILD === '1') {
    const names = ARTEFACTS.filter(stale)
      .map((a) => a.name)
      .join(', ');
    process.stderr.write(
      `# WARNING: ${names}: older than the sources, or missing; this run tests the last build (npm run build to update)\n`,
    );
    return;
  }
  withLock(() => {
    for (const a of ARTEFACTS) {
      if (!stale(a)) continue; // another test process may have rebuilt it meanwhile
      process.stderr.write(`# rebuilding ${a.name}: a source is newer than ${a.output}\n`);
      const r = spawnSync(a.command[0]!, a.command.slice(1), {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '' },
      });
      if (r.status !== 0)
        throw new Error(`rebuilding ${a.name} failed (${a.command.join(' ')}):\n${r.stdout}${r.stderr}`);
      if (!existsSync(join(ROOT, a.output))) throw new Error(`rebuilding ${a.name} made no ${a.output}`);
    }
  });
}
