// Loading the `i2c-bus` module: as installed when npm built its addon, else with the addon the
// package carries prebuilt (prebuilds/linux-<arch>/i2c.abi<N>.node, scripts/build-prebuilds.sh).
// The Signal K App Store installs plugins with `npm --ignore-scripts`, which never builds it; the
// Debian package carries only the prebuilt addons. i2c-bus stays the API either way.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { I2cModule } from './i2c-bus.js';

/** This file (dist/engine/, a bundle in dist/bin/ or /usr/lib/halpid/, the plugin's bundle). */
const here = fileURLToPath(import.meta.url);

export interface LoadOptions {
  /** A file the search starts from: `i2c-bus` resolves from it, prebuilds/ is above it. */
  from?: string;
  arch?: string;
  /** NODE_MODULE_VERSION of the running Node. */
  abi?: string;
}

/** The prebuilt addon for this architecture and Node ABI: the first prebuilds/ above `from`. */
export function prebuiltAddon(opts: LoadOptions = {}): { path: string; found: boolean } {
  const name = join(`linux-${opts.arch ?? process.arch}`, `i2c.abi${opts.abi ?? process.versions.modules}.node`);
  let dir = dirname(opts.from ?? here);
  for (let i = 0; i < 5; i++) {
    const path = join(dir, 'prebuilds', name);
    if (existsSync(path)) return { path, found: true };
    if (dirname(dir) === dir) break;
    dir = dirname(dir);
  }
  return { path: join('prebuilds', name), found: false };
}

const firstLine = (err: unknown): string => String((err as Error)?.message ?? err).split('\n')[0]!;

/** `require('i2c-bus')`, falling back to the prebuilt addon; one-line errors. */
export function loadI2cBus(opts: LoadOptions = {}): I2cModule {
  const req = createRequire(opts.from ?? here);
  let file: string;
  try {
    file = req.resolve('i2c-bus');
  } catch {
    throw new Error('the i2c-bus module is not installed (npm install i2c-bus)');
  }
  let built: unknown;
  try {
    return req(file) as I2cModule;
  } catch (err) {
    // Not built (npm --ignore-scripts), or built for another Node: the prebuilt one may fit.
    built = err;
  }
  const prebuilt = prebuiltAddon(opts);
  if (!prebuilt.found) {
    throw new Error(
      `i2c-bus has no usable native addon (${firstLine(built)}) and there is none prebuilt for linux-${opts.arch ?? process.arch}, ` +
        `Node ${process.versions.node}: build it with \`npm rebuild i2c-bus\``,
    );
  }
  // i2c-bus.js loads its addon with `require('bindings')('i2c.node')`: for the time of this one
  // synchronous require, the cached `bindings` answers with the prebuilt file instead.
  const inner = createRequire(file);
  try {
    const bindingsFile = inner.resolve('bindings');
    inner(bindingsFile);
    const cached = inner.cache[bindingsFile]!;
    const original = cached.exports as (name: string) => unknown;
    cached.exports = (name: string) => (name === 'i2c.node' ? inner(prebuilt.path) : original(name));
    try {
      return inner(file) as I2cModule;
    } finally {
      cached.exports = original;
    }
  } catch (err) {
    throw new Error(`the prebuilt i2c-bus addon ${prebuilt.path} does not load: ${firstLine(err)}`, { cause: err });
  }
}
