// A NUT client for tests: collects what the server says; `lines(n)` resolves when n lines have
// come (or the connection ended), `ended()` when the server closed it.
import { connect, type Socket } from 'node:net';

export function nutClient(port: number, opts: { allowHalfOpen?: boolean } = {}) {
  const sock: Socket = connect({ port, host: '127.0.0.1', allowHalfOpen: opts.allowHalfOpen ?? false });
  let text = '';
  let closed = false;
  let ended = false;
  const waiters: Array<() => void> = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  // Woken by the socket's events; bounded, so a server that never answers fails the test with
  // what it did send instead of hanging until tap's file timeout.
  const until = async (done: () => boolean, limitMs = 20_000) => {
    const start = Date.now();
    while (!done()) {
      const left = limitMs - (Date.now() - start);
      if (left <= 0)
        throw new Error(`NUT client: not within ${limitMs} ms; received so far: ${JSON.stringify(text.slice(-500))}`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
  };
  sock.setEncoding('utf8');
  sock.on('data', (c: string) => {
    text += c;
    wake();
  });
  sock.on('end', () => {
    ended = true;
    wake();
  });
  sock.on('close', () => {
    closed = true;
    ended = true;
    wake();
  });
  sock.on('error', () => {});
  const lines = async (n: number) => {
    await until(() => text.split('\n').length - 1 >= n || closed);
    return text.split('\n').slice(0, n);
  };
  return {
    sock,
    lines,
    /** The server closed its side (FIN) or the connection is gone. */
    ended: () => until(() => ended),
    closed: () => until(() => closed),
    connected: () => new Promise<void>((r) => (sock.connecting ? sock.once('connect', () => r()) : r())),
    send: (s: string) => sock.write(s),
    text: () => text,
  };
}
