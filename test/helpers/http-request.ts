// A request over a Unix socket with node:http, the answer collected whole (status, headers as
// sent, body): the rigs of the real daemon (daemon.ts) and of the in-process API (api.ts) share it.
import { request as httpRequest } from 'node:http';

export interface Reply {
  status: number;
  headers: Record<string, string>;
  /** Header names as sent, in order (lower-cased). */
  headerNames: string[];
  body: Buffer;
  text: string;
}

export function request(
  socket: string,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Reply> {
  return new Promise((resolvePromise, reject) => {
    const headers: Record<string, string> = { Host: 'localhost', ...opts.headers };
    // Node sends a GET/DELETE/OPTIONS body unframed unless told its length.
    if (opts.body !== undefined && !('Content-Length' in headers))
      headers['Content-Length'] = String(Buffer.byteLength(opts.body));
    const req = httpRequest({ socketPath: socket, method, path, agent: false, timeout: 15_000, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers: Record<string, string> = {};
        const headerNames: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = res.rawHeaders[i]!.toLowerCase();
          headers[name] = res.rawHeaders[i + 1]!;
          headerNames.push(name);
        }
        const body = Buffer.concat(chunks);
        resolvePromise({ status: res.statusCode ?? 0, headers, headerNames, body, text: body.toString('utf8') });
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 15 s`)));
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

export const json = (value: unknown) => ({
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(value),
});
