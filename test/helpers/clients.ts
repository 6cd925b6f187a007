// Clients that hold a daemon's connections open, for the faces' tests: raw sockets that connect
// (over TCP or a Unix socket), optionally send something, and wait for the first bytes back.
import { connect, type Socket } from 'node:net';

export type Target = { port: number; host?: string } | { path: string };

/** Connect; resolves once connected (or rejects on an error before that). The socket is paused. */
export function open(target: Target): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = 'path' in target ? connect(target.path) : connect(target.port, target.host ?? '127.0.0.1');
    s.once('error', reject);
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
  });
}

/** Send `text` and resolve with the first chunk answered (the socket stays open). */
export function firstReply(s: Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    s.once('data', (c: Buffer) => {
      s.pause();
      resolve(c.toString());
    });
    s.once('close', () => reject(new Error('closed before answering')));
    s.write(text);
  });
}

/** A raw HTTP/1.1 request head. */
export const head = (method: string, path: string, host: string, extra = ''): string =>
  `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;

/** Resolves when the socket closes (from either side). */
export const closed = (s: Socket): Promise<void> =>
  new Promise((resolve) => {
    if (s.destroyed) resolve();
    else s.once('close', () => resolve());
  });
