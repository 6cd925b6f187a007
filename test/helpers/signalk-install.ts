// signalk-server as owners install it, and our plugin as the App Store installs it. The
// server's admin UI is served only by a global install (`npm install -g`), not by the copy in
// our node_modules; it is installed once into node_modules/.cache (never committed) and reused.
// The plugin comes from `npm pack`, installed with the App Store's own command.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './daemon.js';
import { tempDir } from './tmp.js';

const run = promisify(execFile);
export const SERVER_VERSION = '2.23.0';
const CACHE = join(ROOT, 'node_modules', '.cache', `halpi2-signalk-server-${SERVER_VERSION}`);
const npmEnv = {
  ...process.env,
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};

/** The path of a globally installed signalk-server's start script (installed on first use). */
export async function globalSignalKServer(): Promise<string> {
  const bin = join(CACHE, 'lib', 'node_modules', 'signalk-server', 'bin', 'signalk-server');
  if (existsSync(bin)) return bin;
  mkdirSync(join(ROOT, 'node_modules', '.cache'), { recursive: true });
  // Into a directory of its own, then renamed: test files running side by side never see half an install.
  const staging = `${CACHE}.${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  await run('npm', ['install', '-g', '--prefix', staging, `signalk-server@${SERVER_VERSION}`], {
    env: npmEnv,
    maxBuffer: 1 << 24,
  });
  try {
    renameSync(staging, CACHE);
  } catch {
    rmSync(staging, { recursive: true, force: true }); // another test file got there first
  }
  return bin;
}

/** `npm pack` of this package as built (npm test builds first), into a temporary directory. */
export async function packPlugin(): Promise<string> {
  const dir = tempDir('halpi2-pack-');
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], {
    cwd: ROOT,
    env: npmEnv,
  });
  return join(dir, stdout.trim().split('\n').pop()!);
}

/** A fresh configuration directory with the tarball installed the way the App Store does it. */
export async function appStoreInstall(tarball: string): Promise<string> {
  const dir = tempDir('halpi2-signalk-');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'signalk-server-config', version: '0.0.1' }));
  await run('npm', ['--save', '--ignore-scripts', 'install', tarball], { cwd: dir, env: npmEnv, maxBuffer: 1 << 24 });
  return dir;
}
