// The plugin's router (registerWithRouter) mounted on a loopback HTTP server as Signal K mounts it:
// under /plugins/signalk-halpi2, the prefix stripped before the plugin's handlers see the URL.
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { serveOnLoopback } from './net.js';

type Handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/** The plugin's router mounted as Signal K mounts it (under /plugins/signalk-halpi2, prefix stripped). */
export async function mount(
  t: { teardown: (fn: () => unknown) => void },
  register: (router: { use(h: Handler): void }) => void,
) {
  const handlers: Handler[] = [];
  register({ use: (h) => void handlers.push(h) });
  const port = await serveOnLoopback(t, (req, res) => {
    req.url = req.url!.replace(/^\/plugins\/signalk-halpi2/, '');
    let i = 0;
    const next = (): void => {
      const h = handlers[i++];
      if (h) h(req, res, next);
      else {
        res.writeHead(404);
        res.end();
      }
    };
    next();
  });
  return (path: string, method = 'GET', body?: unknown) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const headers = body === undefined ? {} : { 'Content-Type': 'application/json' };
      const req = httpRequest({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
}
