// Where halpid listens by default, shared by the daemon and by halpi's socket discovery.

import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The packaged daemon's socket (halpid 5.x). */
export const DEFAULT_SOCKET = '/run/halpid/halpid.sock';
/** halpid 4.0.7's socket (`/var/run/halpid.sock`). */
export const LEGACY_SOCKET = '/run/halpid.sock';

/** A socket path that needs no root, for the simulator when none was configured. */
export function simulatorSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_RUNTIME_DIR || join(tmpdir(), `halpid-${process.getuid?.() ?? 0}`);
  return join(base, 'halpid', 'halpid.sock');
}

/** Unit files that mean halpid is installed as a systemd service on this machine. */
export const SYSTEMD_UNITS = [
  '/etc/systemd/system/halpid.service',
  '/lib/systemd/system/halpid.service',
  '/usr/lib/systemd/system/halpid.service',
];
