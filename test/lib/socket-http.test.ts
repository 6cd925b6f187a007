// lib/socket-http.ts and lib/sse.ts against small servers on private sockets: an answer with its
// type, a failure to connect told apart from a connection lost, the time limit; events split
// across chunks arrive whole, named or not.
import t from 'tap';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { socketRequest, SocketRequestError, TimeoutError } from '../../lib/socket-http.js';
import { socketStream } from '../../lib/socket-stream.js';
import { readEvents } from '../../lib/sse.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('halpi-lib-');
const listen = async (
  name: string,
  handler: Parameters<typeof createServer>[1],
): Promise<{ path: string; server: Server }> => {
  const path = join(dir, name);
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(path, r));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { path, server };
};

t.test('an answer: status, content type, text; the body and its length sent', async (t) => {
  const { path } = await listen('echo.sock', (req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      res.writeHead(201, { 'Content-Type': 'text/plain' });
      res.end(`${req.method} ${req.url} ${req.headers['content-length']} ${body}`);
    });
  });
  const sent: number[] = [];
  const r = await socketRequest(path, 'PUT', '/x', { body: 'true', onSent: (n) => sent.push(n) });
  t.same(r, { status: 201, type: 'text/plain', text: 'PUT /x 4 true' });
  t.same(sent, [4]);
});

t.test('no socket: not connected, with the code; a connection lost: connected', async (t) => {
  const err = await socketRequest(join(dir, 'none.sock'), 'GET', '/').catch((e: unknown) => e);
  t.ok(err instanceof SocketRequestError);
  t.match(err, { connected: false, code: 'ENOENT' });
  const { path } = await listen('drop.sock', (req) => req.socket.destroy());
  const lost = await socketRequest(path, 'GET', '/').catch((e: unknown) => e);
  t.match(lost, { connected: true });
});

t.test('the time limit', async (t) => {
  let got!: () => void;
  const asked = new Promise<void>((r) => {
    got = r;
  });
  const { path } = await listen('slow.sock', () => got()); // never answers
  const err = socketRequest(path, 'GET', '/', { timeoutMs: 50 }).catch((e: unknown) => e);
  await asked;
  t.match(await err, new TimeoutError(50));
});

t.test('events split anywhere arrive whole; an unnamed one is "message"', async (t) => {
  const { path } = await listen('events.sock', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    const text =
      'event: hello\ndata: {"a":1}\n\n: a comment\n\ndata: plain\n\nevent: flash\r\ndata: {"phase":"done"}\r\n\r\n';
    // One byte at a time: no event may depend on arriving in one piece.
    for (const ch of text) res.write(ch);
    res.end();
  });
  const events: Array<[string, string]> = [];
  await new Promise<void>((resolve) => {
    socketStream(path, '/events').on('response', (res) => {
      readEvents(res, (e, d) => events.push([e, d]));
      res.on('end', resolve);
    });
  });
  t.same(events, [
    ['hello', '{"a":1}'],
    ['message', 'plain'],
    ['flash', '{"phase":"done"}'],
  ]);
});

/** A raw server on a private socket: `answer` gets the request's text once its head is in. */
const rawServer = async (name: string, answer: (request: string, socket: Socket) => void): Promise<string> => {
  const path = join(dir, name);
  const server = createNetServer((s) => {
    let text = '';
    s.on('data', (c) => {
      text += c.toString('latin1');
      if (text.includes('\r\n\r\n')) answer(text, s);
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(path, r));
  t.teardown(() => server.close());
  return path;
};

t.test('the request as node:http wrote it: Host, Connection: close, a length for a body or a POST', async (t) => {
  const seen: string[] = [];
  const path = await rawServer('head.sock', (req, s) => {
    seen.push(req);
    s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  });
  await socketRequest(path, 'GET', '/values');
  await socketRequest(path, 'POST', '/shutdown');
  t.equal(seen[0], 'GET /values HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  t.equal(seen[1], 'POST /shutdown HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
});

t.test('answers framed every way: a length in pieces, chunked, to the end, none for 204', async (t) => {
  const answers: Record<string, (s: Socket) => void> = {
    '/length': (s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Len');
      s.write('gth: 10\r\n\r\n{"a":');
      setImmediate(() => s.write('"é"}')); // 2 bytes for é: 10 in all; the connection stays open
    },
    '/chunked': (s) =>
      s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;x=1\r\n, world\r\n0\r\n\r\n'),
    '/close': (s) => s.end('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end'),
    '/empty': (s) => s.end('HTTP/1.1 204 No Content\r\n\r\n'),
    '/continue': (s) => s.end('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnone'),
  };
  const path = await rawServer('framing.sock', (req, s) => answers[req.split(' ')[1]!]!(s));
  t.same(await socketRequest(path, 'GET', '/length'), { status: 200, type: 'application/json', text: '{"a":"é"}' });
  t.same(await socketRequest(path, 'GET', '/chunked'), { status: 200, type: '', text: 'hello, world' });
  t.same(await socketRequest(path, 'GET', '/close'), { status: 200, type: 'text/plain', text: 'until the end' });
  t.same(await socketRequest(path, 'GET', '/empty'), { status: 204, type: '', text: '' });
  t.same(await socketRequest(path, 'GET', '/continue'), { status: 404, type: '', text: 'none' });
});

t.test('an answer cut short, or not HTTP: a lost connection, with what node:http said', async (t) => {
  const answers: Record<string, (s: Socket) => void> = {
    '/short': (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'),
    '/nothing': (s) => s.end(),
    '/garbage': (s) => s.end('SSH-2.0-OpenSSH\r\n\r\n'),
  };
  const path = await rawServer('cut.sock', (req, s) => answers[req.split(' ')[1]!]!(s));
  const fail = (p: string) => socketRequest(path, 'GET', p).catch((e: unknown) => e);
  t.match(await fail('/short'), { connected: true, message: 'the daemon closed the connection before answering' });
  t.match(await fail('/nothing'), { connected: true, message: 'socket hang up', code: 'ECONNRESET' });
  t.match(await fail('/garbage'), { connected: true, code: 'HPE_INVALID_CONSTANT' });
});

t.test('a large body goes in 64 KiB pieces, each one told', async (t) => {
  const { path } = await listen('upload.sock', (req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => res.end(String(n)));
  });
  const sent: number[] = [];
  const body = Buffer.alloc(150 * 1024, 1);
  const r = await socketRequest(path, 'POST', '/flash', { body, timeoutMs: 0, onSent: (n) => sent.push(n) });
  t.equal(r.text, String(body.length));
  t.same(sent, [65536, 131072, 153600]);
});
