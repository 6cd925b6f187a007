// The Unix socket (docs/configuration.md): parent directory, stale sockets replaced but never a
// regular file or directory, mode 0660 from birth, group from `socket-group`.

import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  type Stats,
} from 'node:fs';
import { connect, type Server } from 'node:net';
import { dirname } from 'node:path';
import { childProcess } from '../engine/child-process.js';
import type { Logger } from '../engine/log.js';

/**
 * A socket problem; the message is the log line. At start-up it is fatal (exit 1), and those the
 * halpid 5.0.2 words so are logged with `, exiting`; on a reload the daemon keeps its old socket.
 */
export class SocketError extends Error {
  override name = 'SocketError';
  constructor(
    message: string,
    readonly saysExiting = false,
  ) {
    super(message);
  }

  /** The line logged when start-up fails on it. */
  get startupMessage(): string {
    return this.saysExiting ? `${this.message}, exiting` : this.message;
  }
}

/** sun_path holds 108 bytes on Linux, the last one a NUL. */
export const MAX_SOCKET_PATH = 107;

const statOrNull = (path: string): Stats | null => {
  try {
    return statSync(path);
  } catch {
    return null;
  }
};

/** Linux always has it; the daemon runs only there. */
const myUid = (): number => process.getuid!();

/**
 * Create the socket's directory and its missing parents (mode 0755), one level at a time below
 * the nearest one that exists. (A recursive mkdirSync below /proc never returns.)
 */
export function ensureDirectory(dir: string, mkdir: (path: string, opts: { mode: number }) => void = mkdirSync): void {
  const missing: string[] = [];
  let d = dir;
  let st = statOrNull(d);
  // Ends at the latest at `/`, which exists.
  while (!st) {
    missing.unshift(d);
    d = dirname(d);
    st = statOrNull(d);
  }
  if (!st.isDirectory())
    throw new SocketError(`Cannot create the socket directory ${dir}: ${d} is not a directory`, true);
  for (const m of missing) {
    try {
      mkdir(m, { mode: 0o755 });
    } catch (err) {
      // Someone else created it in the meantime: fine, if it is a directory.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && statOrNull(m)?.isDirectory()) continue;
      throw new SocketError(`Cannot create the socket directory ${dir}: ${(err as Error).message}`, true);
    }
  }
}

const DIGITS = /^[0-9]+$/;

/** `getent group <name>`: its line, or throws when NSS has no such group. */
const getent = (name: string): string => childProcess().execFileSync('getent', ['group', name], { encoding: 'utf8' });

/** Resolve a group name (or numeric gid) through the group file, then NSS. */
export function resolveGroup(
  group: string | number,
  opts: { groupFile?: string; getent?: (name: string) => string } = {},
): number | null {
  const text = String(group);
  if (DIGITS.test(text)) return Number(text);
  try {
    for (const line of readFileSync(opts.groupFile ?? '/etc/group', 'utf8').split('\n')) {
      const [name, , gid] = line.split(':');
      if (name === text && DIGITS.test(gid ?? '')) return Number(gid);
    }
  } catch {
    // fall through to NSS
  }
  try {
    const gid = (opts.getent ?? getent)(text).split(':')[2]?.trim() ?? '';
    if (DIGITS.test(gid)) return Number(gid);
  } catch {
    // not found
  }
  return null;
}

function inUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Make the path ready for binding: create the directory, refuse what must not be replaced. */
export async function prepareSocketPath(path: string, logger: Logger, me = myUid()): Promise<void> {
  // Node 20 binds a longer path cut short, elsewhere, without an error: refuse it first.
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH)
    throw new SocketError(`${path} is too long for a Unix socket (${bytes} bytes, at most ${MAX_SOCKET_PATH})`, true);
  ensureDirectory(dirname(path));
  let st;
  try {
    st = lstatSync(path, { throwIfNoEntry: false });
  } catch (err) {
    throw new SocketError(`${path}: ${(err as Error).message}`, true);
  }
  if (!st) return;
  if (!st.isSocket()) throw new SocketError(`${path} exists and is not a socket`, true);
  if (st.uid !== 0 && st.uid !== me) throw new SocketError(`${path} exists and is owned by UID ${st.uid}`, true);
  if (await inUse(path)) throw new SocketError(`${path} is in use by another process`, true);
  unlinkSync(path);
  logger.info(`Removed stale socket ${path}`);
}

/** Bind `server` to `path` with mode 0660 and the group; resolves with the socket's identity. */
export async function listenOnSocket(
  server: Server,
  path: string,
  group: string | number,
  logger: Logger,
): Promise<{ dev: number; ino: number }> {
  const gid = resolveGroup(group);
  if (gid === null) throw new SocketError(`Group ${group} does not exist`, true);
  await prepareSocketPath(path, logger);
  // Born 0660: no window in which the socket is wider open.
  const previous = process.umask(0o117);
  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(new SocketError(`Cannot listen on ${path}: ${err.message}`));
      server.once('error', onError);
      server.listen(path, () => {
        server.off('error', onError);
        resolve();
      });
    });
  } finally {
    process.umask(previous);
  }
  chmodSync(path, 0o660);
  applyGroup(path, group, gid, logger);
  const st = statSync(path);
  return { dev: st.dev, ino: st.ino };
}

/** As root a failed chown is fatal (the group is how users get access); otherwise a warning. */
export function applyGroup(
  path: string,
  group: string | number,
  gid: number,
  logger: Logger,
  root = myUid() === 0,
): void {
  try {
    chownSync(path, -1, gid);
  } catch (err) {
    if (root) throw new SocketError(`Cannot change group of ${path} to ${group}: ${(err as Error).message}`);
    logger.warn(`Cannot change group of ${path} to ${group}: ${(err as Error).message}`);
  }
}

/** Whether the path still holds the socket this process created (same device and inode). */
export function isOwnSocket(path: string, id: { dev: number; ino: number }): boolean {
  try {
    const st = lstatSync(path);
    return st.dev === id.dev && st.ino === id.ino;
  } catch {
    return false;
  }
}

/**
 * Stop listening, and remove our socket file but never one that took its place. libuv unlinks a
 * Unix server's path when the server closes (at the latest when the process exits), so a socket
 * that now holds the path gets a second name for that moment and is moved back. Returns whether
 * our socket file was removed.
 */
export function closeSocketServer(server: Server, path: string, id: { dev: number; ino: number }): boolean {
  const own = isOwnSocket(path, id);
  let keep: string | null = null;
  if (!own) {
    keep = `${path}.${process.pid}.keep`;
    try {
      linkSync(path, keep);
    } catch {
      keep = null; // nothing there to keep
    }
  }
  server.close();
  if (keep) renameSync(keep, path);
  (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  return own;
}
