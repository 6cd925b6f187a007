// HTTP over halpid's Unix socket, one module for every client of ours: halpi (cli/), the Signal K
// plugin's client mode (plugin/) and `halpi compare`. One connection per request (as halpid 4.0.7
// and 5.0.2 expect: `Connection: close`), a time limit, and errors that say whether the connection
// was made. HTTP/1.1 written and read on a plain node:net socket: node:http's client is some ten
// of Node's modules and its request path costs `halpi status` a third of its start
// (docs/performance.md). A streamed answer (/events) goes through node:http (socket-stream.ts).
// The engine never imports this: it is a client, not the daemon.

import { connect, type Socket } from 'node:net';

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

/** Methods whose request node:http sends without a body by default (others get `Content-Length: 0`). */
const NO_BODY = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

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
    const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
    if (body !== undefined) headers['Content-Length'] = String(body.length);
    else if (!NO_BODY.has(method) && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length'))
      headers['Content-Length'] = '0';
    let head = `${method} ${path} HTTP/1.1\r\n`;
    for (const [name, value] of Object.entries(headers)) {
      if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) {
        reject(new Error(`Invalid character in header ${JSON.stringify(name)}`));
        return;
      }
      head += `${name}: ${value}\r\n`;
    }
    head += 'Connection: close\r\n\r\n';

    let connected = false;
    let settled = false;
    const socket = connect(socketPath);
    const finish = (err: Error | null, reply?: Reply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err instanceof TimeoutError ? err : new SocketRequestError(connected, err));
      else resolve(reply!);
    };
    const timer = timeoutMs > 0 ? setTimeout(() => finish(new TimeoutError(timeoutMs)), timeoutMs) : undefined;
    const response = new ResponseReader();
    socket.on('connect', () => {
      connected = true;
      // Not ended after the request: node:http keeps its side open, and a server may close on our end.
      if (!body) socket.write(head, 'latin1');
      else if (!opts.onSent) socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body]));
      else {
        socket.write(head, 'latin1');
        writeBody(socket, body, opts.onSent);
      }
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        const reply = response.push(chunk);
        if (reply) finish(null, reply);
      } catch (err) {
        finish(err as Error);
      }
    });
    // The answer ends with the connection (`Connection: close`) unless its length said so first.
    socket.on('end', () => {
      try {
        finish(null, response.end());
      } catch (err) {
        finish(err as Error);
      }
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(connected ? hangUp() : new Error('socket closed')));
  });
}

/** What node:http says of a connection closed before any answer. */
function hangUp(): NodeJS.ErrnoException {
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

function parseError(reason: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`Parse Error: ${reason}`), { code: 'HPE_INVALID_CONSTANT' });
}

/**
 * An HTTP/1.x answer read as it arrives: its status line and headers, then a body of
 * Content-Length bytes, chunked, or up to the end of the connection. 1xx answers are skipped.
 */
class ResponseReader {
  private buf: Buffer = Buffer.alloc(0);
  private status = 0;
  private type = '';
  /** Body framing once the headers are in: a length, 'chunked', or 'close'. */
  private framing: number | 'chunked' | 'close' | null = null;
  private bodyStart = 0;

  /** Add what arrived; the reply once it is complete. */
  push(chunk: Buffer): Reply | null {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.framing === null) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (this.buf.length >= 5 && !this.buf.subarray(0, 5).equals(Buffer.from('HTTP/')))
          throw parseError('Expected HTTP/');
        return null;
      }
      this.headers(this.buf.subarray(0, end).toString('latin1'));
      if (this.status >= 100 && this.status < 200) {
        this.buf = this.buf.subarray(end + 4);
        this.framing = null;
        continue;
      }
      this.bodyStart = end + 4;
    }
    return this.complete(false);
  }

  /** The connection ended: the reply, or why there is none. */
  end(): Reply {
    if (this.framing === null) throw hangUp();
    const reply = this.complete(true);
    if (!reply) throw new Error('the daemon closed the connection before answering');
    return reply;
  }

  private headers(text: string): void {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]!);
    if (!m) throw parseError('Invalid status line');
    this.status = Number(m[1]);
    let length: number | null = null;
    let chunked = false;
    this.type = '';
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw parseError('Invalid header');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-type' && !this.type) this.type = value;
      else if (name === 'transfer-encoding') chunked = /(^|,)\s*chunked\s*$/i.test(value);
      else if (name === 'content-length') {
        if (!/^\d+$/.test(value) || (length !== null && length !== Number(value)))
          throw parseError('Invalid Content-Length');
        length = Number(value);
      }
    }
    // No body for 204 and 304 (nor for the 1xx skipped above).
    this.framing = this.status === 204 || this.status === 304 ? 0 : chunked ? 'chunked' : (length ?? 'close');
  }

  private complete(ended: boolean): Reply | null {
    const rest = this.buf.subarray(this.bodyStart);
    let body: Buffer | null;
    if (this.framing === 'close') body = ended ? rest : null;
    else if (this.framing === 'chunked') body = dechunk(rest);
    else body = rest.length >= this.framing! ? rest.subarray(0, this.framing!) : null;
    return body ? { status: this.status, type: this.type, text: body.toString('utf8') } : null;
  }
}

/** A chunked body's content once its last chunk has arrived, else null. */
function dechunk(data: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    if (eol < 0) return null;
    const size = data.subarray(at, eol).toString('latin1').split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]+$/.test(size)) throw parseError('Invalid character in chunk size');
    const n = parseInt(size, 16);
    if (n === 0) {
      // The trailer (usually empty) ends with an empty line.
      return data.indexOf('\r\n\r\n', eol) >= 0 ? Buffer.concat(parts) : null;
    }
    if (data.length < eol + 2 + n + 2) return null;
    parts.push(data.subarray(eol + 2, eol + 2 + n));
    at = eol + 2 + n + 2;
  }
}

function writeBody(socket: Socket, body: Buffer, onSent: (sent: number, total: number) => void): void {
  const CHUNK = 64 * 1024;
  let offset = 0;
  const pump = (): void => {
    while (offset < body.length) {
      const chunk = body.subarray(offset, offset + CHUNK);
      offset += chunk.length;
      onSent(offset, body.length);
      if (!socket.write(chunk)) {
        socket.once('drain', pump);
        return;
      }
    }
  };
  pump();
}
