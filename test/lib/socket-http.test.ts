// lib/socket-http.ts and lib/sse.ts against small servers on private sockets: an answer with its
// type, a failure to connect told apart from a connection lost, the time limit; events split
// across chunks arrive whole, named or not.
import t from 'tap';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { socketRequest, socketStream, SocketRequestError, TimeoutError } from '../../lib/socket-http.js';
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
