// halpi's HTTP client: node:http over the daemon's Unix socket (no fetch, no client library), with
// the connection errors of spec/cli.md §4 turned into one-line messages.

import { existsSync, statSync, readFileSync } from 'node:fs';
import { request, STATUS_CODES, type IncomingMessage } from 'node:http';

export const DEFAULT_SOCKET = '/run/halpid/halpid.sock';
const LEGACY_SOCKET = '/run/halpid.sock';

/** A failure to report: the message goes after `Error: `; exit with `code`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}

/** --socket, then HALPI_SOCKET, then the 5.x and 4.x default paths (spec/cli.md §1.1). */
export function resolveSocket(flag: string | undefined, env: NodeJS.ProcessEnv, exists = existsSync): string {
  if (flag) return flag;
  if (env.HALPI_SOCKET) return env.HALPI_SOCKET;
  if (exists(DEFAULT_SOCKET)) return DEFAULT_SOCKET;
  if (exists(LEGACY_SOCKET)) return LEGACY_SOCKET;
  return DEFAULT_SOCKET;
}

export interface Response {
  status: number;
  text: string;
}

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

function connectionError(socket: string, err: NodeJS.ErrnoException): CliError {
  const hint = '(is halpid running? Try: systemctl status halpid)';
  switch (err.code) {
    case 'ENOENT':
      return new CliError(`Failed to connect to daemon: ${socket} does not exist ${hint}`);
    case 'ECONNREFUSED':
      return new CliError(`Failed to connect to daemon: nothing is listening on ${socket} ${hint}`);
    case 'EACCES':
    case 'EPERM': {
      let group = 'halpid';
      try {
        group = groupName(statSync(socket).gid);
      } catch {
        // keep the default name
      }
      return new CliError(`Permission denied on ${socket}. Add your user to the '${group}' group (sudo adduser $USER ${group}, then log in again) or use sudo.`);
    }
    default:
      return new CliError(`Failed to connect to daemon at ${socket}: ${err.message}`);
  }
}

export interface RequestOptions {
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Milliseconds; 0 = none (flash). Default 30 s. */
  timeoutMs?: number;
  /** Bytes of the body sent so far (flash progress). */
  onSent?: (sent: number, total: number) => void;
}

export class Client {
  constructor(readonly socket: string) {}

  request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { Host: 'localhost', ...opts.headers };
      if (opts.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
      const req = request({ socketPath: this.socket, method, path, headers, agent: false }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => reject(connectionError(this.socket, err)));
      });
      let timer: NodeJS.Timeout | undefined;
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          req.destroy();
          reject(new CliError(`No response from daemon at ${this.socket} within ${timeoutMs / 1000} s`));
        }, timeoutMs);
      }
      req.on('close', () => clearTimeout(timer));
      req.on('error', (err: NodeJS.ErrnoException) => reject(connectionError(this.socket, err)));
      if (opts.body !== undefined) writeBody(req, Buffer.from(opts.body), opts.onSent);
      else req.end();
    });
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

function writeBody(req: ReturnType<typeof request>, body: Buffer, onSent?: (sent: number, total: number) => void): void {
  if (!onSent) {
    req.end(body);
    return;
  }
  const CHUNK = 64 * 1024;
  let offset = 0;
  const pump = (): void => {
    while (offset < body.length) {
      const chunk = body.subarray(offset, offset + CHUNK);
      offset += chunk.length;
      onSent(offset, body.length);
      if (!req.write(chunk)) {
        req.once('drain', pump);
        return;
      }
    }
    req.end();
  };
  pump();
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
  const reason = STATUS_CODES[res.status] ?? 'Unknown';
  return new CliError(`Request failed (${res.status} ${reason})${message ? `: ${message}` : ''}`);
}
