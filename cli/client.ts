// halpi's HTTP client: lib/socket-http.ts over the daemon's Unix socket, with the connection
// errors of docs/cli.md turned into one-line messages.

import { existsSync, statSync, readFileSync } from 'node:fs';
import {
  socketRequest,
  SocketRequestError,
  TimeoutError,
  type Reply,
  type SocketRequestOptions,
} from '../lib/socket-http.js';
import { REASONS } from '../lib/http-reasons.js';
import { DEFAULT_SOCKET, LEGACY_SOCKET, simulatorSocketPath, SYSTEMD_UNITS } from '../engine/paths.js';

/** A failure to report: the message goes after `Error: `; exit with `code`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}

/** The socket to talk to, and the paths discovery looked at when none was named. */
export interface SocketChoice {
  path: string;
  /** Paths tried by discovery, in order (empty when --socket or HALPI_SOCKET named one). */
  tried: string[];
}

/**
 * --socket, then HALPI_SOCKET, then the first that exists of the 5.x path, the 4.x path and the
 * simulator's default path (where plain `halpid --simulate` and `npm start` listen); with none of
 * them there, the 5.x path, with the list of paths tried for the error message.
 */
export function resolveSocket(flag: string | undefined, env: NodeJS.ProcessEnv, exists = existsSync): SocketChoice {
  if (flag) return { path: flag, tried: [] };
  if (env.HALPI_SOCKET) return { path: env.HALPI_SOCKET, tried: [] };
  const tried = [...new Set([DEFAULT_SOCKET, LEGACY_SOCKET, simulatorSocketPath(env)])];
  return { path: tried.find((p) => exists(p)) ?? DEFAULT_SOCKET, tried };
}

export type Response = Reply;

function groupName(gid: number): string {
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (id === String(gid) && name) return name;
    }
  } catch {
    // no group database
  }
  return String(gid);
}

/** Advice that fits the machine: systemctl only where a halpid unit is installed. */
function startHint(exists: (p: string) => boolean): string {
  return SYSTEMD_UNITS.some((u) => exists(u))
    ? '(is halpid running? Try: systemctl status halpid)'
    : '(is halpid running? Start it with: halpid, or halpid --simulate to try it without hardware)';
}

export function connectionError(
  socket: SocketChoice,
  err: { code?: string; message: string },
  exists = existsSync,
): CliError {
  const hint = startHint(exists);
  const path = socket.path;
  switch (err.code) {
    case 'ENOENT':
      if (socket.tried.length > 1) {
        return new CliError(`Failed to connect to daemon: no socket at ${socket.tried.join(', ')} ${hint}`);
      }
      return new CliError(`Failed to connect to daemon: ${path} does not exist ${hint}`);
    case 'ECONNREFUSED':
      return new CliError(`Failed to connect to daemon: nothing is listening on ${path} ${hint}`);
    case 'EACCES':
    case 'EPERM': {
      let group = 'halpid';
      try {
        group = groupName(statSync(path).gid);
      } catch {
        // keep the default name
      }
      return new CliError(
        `Permission denied on ${path}. Add your user to the '${group}' group (sudo adduser $USER ${group}, then log in again) or use sudo.`,
      );
    }
    default:
      return new CliError(`Failed to connect to daemon at ${path}: ${err.message}`);
  }
}

/** Milliseconds of timeoutMs: 0 = none (flash); 30 s by default. */
export type RequestOptions = SocketRequestOptions;

export class Client {
  constructor(readonly choice: SocketChoice) {}

  get socket(): string {
    return this.choice.path;
  }

  async request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    try {
      return await socketRequest(this.socket, method, path, opts);
    } catch (err) {
      if (err instanceof TimeoutError)
        throw new CliError(`No response from daemon at ${this.socket} within ${err.timeoutMs / 1000} s`);
      const e = err as SocketRequestError;
      // Once connected, a failure is a lost connection, not a failure to connect.
      if (e.connected) throw new CliError(`Lost the connection to the daemon at ${this.socket}: ${e.message}`);
      throw connectionError(this.choice, e);
    }
  }

  /** A request whose 2xx answer is required; other statuses become the daemon's own message. */
  async call(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const res = await this.request(method, path, opts);
    if (res.status < 200 || res.status > 299) throw httpError(res);
    return res;
  }

  async json(method: string, path: string, opts: RequestOptions = {}): Promise<{ res: Response; value: unknown }> {
    return parseJsonResponse(await this.call(method, path, opts));
  }
}

/** A 2xx answer's JSON body; other statuses become the daemon's own message. */
export function parseJsonResponse(res: Response): { res: Response; value: unknown } {
  if (res.status < 200 || res.status > 299) throw httpError(res);
  try {
    return { res, value: JSON.parse(res.text) };
  } catch {
    throw new CliError('Failed to parse JSON response');
  }
}

export function httpError(res: Response): CliError {
  let message = res.text.trim();
  try {
    const v = JSON.parse(res.text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v) && typeof (v as { error?: unknown }).error === 'string') {
      message = (v as { error: string }).error;
    }
  } catch {
    // a text body
  }
  const reason = REASONS[res.status] ?? 'Unknown';
  return new CliError(`Request failed (${res.status} ${reason})${message ? `: ${message}` : ''}`);
}
