// HTTP over halpid's Unix socket, one module for every client of ours: halpi (cli/), the Signal K
// plugin's client mode (plugin/) and `halpi compare`. node:http, no agent (one connection per
// request, as halpid 4.0.7 and 5.0.2 expect), a time limit, and errors that say whether the
// connection was made. The engine never imports this: it is a client, not the daemon.

import { request, type ClientRequest, type IncomingMessage } from 'node:http';

export interface Reply {
  status: number;
  /** The Content-Type header ('' without one). */
  type: string;
  text: string;
}

export interface SocketRequestOptions {
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Milliseconds without a complete answer before giving up; 0 = none (a firmware upload). */
  timeoutMs?: number;
  /** Bytes of the body sent so far, sent in 64 KiB pieces (upload progress). */
  onSent?: (sent: number, total: number) => void;
}

/** No complete answer within the time limit. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
  constructor(
    readonly timeoutMs: number,
    message = `No answer within ${timeoutMs / 1000} s`,
  ) {
    super(message);
  }
}

/**
 * The request failed: `connected` false when no connection was made (`code` ENOENT,
 * ECONNREFUSED, EACCES…), true when it was lost before the answer was complete.
 */
export class SocketRequestError extends Error {
  override name = 'SocketRequestError';
  readonly code: string | undefined;
  constructor(
    readonly connected: boolean,
    cause: NodeJS.ErrnoException,
  ) {
    super(cause.message);
    this.code = cause.code;
  }
}

export const DEFAULT_TIMEOUT_MS = 30_000;

/** One request; resolves with any status, rejects with TimeoutError or SocketRequestError. */
export function socketRequest(
  socketPath: string,
  method: string,
  path: string,
  opts: SocketRequestOptions = {},
): Promise<Reply> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Host: 'localhost', ...opts.headers };
    if (opts.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
    let connected = false;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err instanceof TimeoutError ? err : new SocketRequestError(connected, err as NodeJS.ErrnoException));
    };
    const req = request({ socketPath, method, path, headers, agent: false }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers['content-type'] ?? ''),
          text: Buffer.concat(chunks).toString('utf8'),
        });
      });
      res.on('error', fail);
      res.on('aborted', () => fail(new Error('the daemon closed the connection before answering')));
    });
    req.on('socket', (s) =>
      s.once('connect', () => {
        connected = true;
      }),
    );
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            fail(new TimeoutError(timeoutMs));
            req.destroy();
          }, timeoutMs)
        : undefined;
    req.on('error', fail);
    if (opts.body === undefined) req.end();
    else writeBody(req, Buffer.from(opts.body), opts.onSent);
  });
}

function writeBody(req: ClientRequest, body: Buffer, onSent?: (sent: number, total: number) => void): void {
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

/** A GET whose answer is a stream (/events): the caller reads the response and destroys the request. */
export function socketStream(socketPath: string, path: string): ClientRequest {
  const req = request({
    socketPath,
    method: 'GET',
    path,
    headers: { Host: 'localhost', Accept: 'text/event-stream' },
    agent: false,
  });
  req.end();
  return req;
}
