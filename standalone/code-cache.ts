// Loading the rest of halpid (dist/bin/halpid-run.cjs, ~340 KB) with a V8 code cache: compiling it
// and the functions its start runs was about 10 ms of the start's CPU (docs/performance.md). Node
// 20 has no module.enableCompileCache, so the bundle is compiled here as CommonJS would compile it
// (Module.wrap, the same file name and line numbers) by vm.Script with the cache's data. The
// cache is only ever a help: absent, unreadable, rejected by V8 (another Node or V8 flags) or
// unwritable (the .deb installs under a read-only /usr), the bundle compiles from source as before.
// V8 checks a cache against the source's length only, so the file's name carries a hash of the
// bundle's content (made by the build): a cache never meets another build's code.

import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';

/** The parts of CommonJS's Module class used here (taken from `module.constructor` in a bundle). */
export interface ModuleClass {
  new (id: string, parent?: unknown): ModuleInstance;
  wrap(source: string): string;
  _nodeModulePaths(dir: string): string[];
  _cache: Record<string, unknown>;
  _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string;
}
interface ModuleInstance {
  exports: unknown;
  filename: string;
  paths: string[];
  loaded: boolean;
  require(id: string): unknown;
}

export interface CachedLoad {
  exports: unknown;
  /** Whether V8 took the cache's code. */
  accepted: boolean;
  /**
   * Write the cache (the code compiled so far, so call it once the start has run) unless V8
   * took it. Never throws; says what it did.
   */
  save(): string;
}

/**
 * Require `file` as CommonJS would, compiled with the code cache `<name>-<hash>.v8cache` in
 * `cacheDir` when there is one.
 */
export function requireWithCodeCache(Module: ModuleClass, file: string, hash: string, cacheDir: string): CachedLoad {
  const name = `${basename(file, '.cjs')}-${hash}.v8cache`;
  const path = join(cacheDir, name);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(path);
  } catch {
    // none yet (or unreadable): compiled from source, and the cache written once the start has run
  }
  const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
  const accepted = cachedData !== undefined && script.cachedDataRejected === false;
  const dir = dirname(file);
  const m = new Module(file, null);
  m.filename = file;
  m.paths = Module._nodeModulePaths(dir);
  Module._cache[file] = m;
  const req = Object.assign((id: string) => m.require(id), {
    cache: Module._cache,
    main: process.mainModule,
    resolve: (request: string, options?: unknown) => Module._resolveFilename(request, m, false, options),
  });
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(m.exports, m.exports, req, m, file, dir);
  m.loaded = true;
  return {
    exports: m.exports,
    accepted,
    save() {
      if (accepted) return `code cache ${path} taken`;
      const why = cachedData ? `${path} rejected` : 'none';
      let data: Buffer;
      try {
        data = script.createCachedData();
      } catch (err) {
        return `code cache: ${why}; not made (${(err as Error).message})`;
      }
      return writeAtomically(cacheDir, name, data)
        ? `code cache: ${why}; written to ${path}`
        : `code cache: ${why}; ${cacheDir} cannot take it`;
    },
  };
}

/** Write through a temporary file and a rename, so a reader never sees half a cache. */
function writeAtomically(dir: string, name: string, data: Buffer): boolean {
  const tmp = join(dir, `.${name}.${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, data, { mode: 0o644 });
    renameSync(tmp, join(dir, name));
    return true;
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // never written
    }
    return false;
  }
}
