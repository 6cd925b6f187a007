// A raw HTTP/1.1 client for the bench: a plain socket writing the request and reading the
// response by its Content-Length, so the client costs next to nothing and does not cap the floor
// (node:http's Agent held a bare server to 11–16k requests/s; this reaches several times that).

import { connect, type Socket } from 'node:net';

export interface Response {
  status: number;
  body: string;
}

/** One keep-alive connection; requests go one after another (no pipelining). */
export class RawConnection {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: Response) => void; reject: (e: Error) => void } | null = null;
  private failed: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      this.parse();
    });
    const fail = (err: Error) => {
      this.failed = err;
      this.waiting?.reject(err);
      this.waiting = null;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static open(path: string): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = connect({ path });
      s.once('connect', () => {
        s.removeListener('error', reject);
        resolve(new RawConnection(s));
      });
      s.once('error', reject);
    });
  }

  request(method: string, path: string, body = ''): Promise<Response> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      const head =
        `${method} ${path} HTTP/1.1\r\nHost: localhost\r\n` +
        (body ? `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` : '') +
        '\r\n';
      this.socket.write(head + body);
    });
  }

  private parse(): void {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0 || !this.waiting) return;
    const head = this.buf.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let bodyEnd: number;
    if (m) {
      bodyEnd = end + 4 + Number(m[1]);
      if (this.buf.length < bodyEnd) return;
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const z = this.buf.indexOf('\r\n0\r\n\r\n', end);
      if (z < 0) return;
      bodyEnd = z + 7;
    } else {
      bodyEnd = end + 4;
    }
    const body = this.buf.toString('utf8', end + 4, bodyEnd);
    this.buf = this.buf.subarray(bodyEnd);
    const w = this.waiting;
    this.waiting = null;
    w.resolve({ status, body });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One request on a fresh connection. */
export async function rawGet(path: string, url: string, method = 'GET', body = ''): Promise<Response> {
  const c = await RawConnection.open(path);
  try {
    return await c.request(method, url, body);
  } finally {
    c.close();
  }
}

/** `n` requests over `clients` keep-alive connections; latencies in ms and the wall time in s. */
export async function load(
  path: string,
  url: string,
  n: number,
  clients: number,
): Promise<{ latencies: number[]; seconds: number }> {
  const conns = await Promise.all(Array.from({ length: clients }, () => RawConnection.open(path)));
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    conns.map(async (c) => {
      while (next < n) {
        next++;
        const a = performance.now();
        const r = await c.request('GET', url);
        if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${r.body}`);
        latencies.push(performance.now() - a);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  for (const c of conns) c.close();
  return { latencies, seconds };
}
