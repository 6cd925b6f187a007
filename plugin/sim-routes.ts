// The simulator controls inside Signal K (docs/signalk.md): `/plugins/signalk-halpi2/sim/…`, the
// same requests and answers as halpid's /sim routes, served by the engine's own API handler.
// Signal K routes cannot be removed, so they answer 503 while the plugin is stopped and 404
// outside simulator mode.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { createApi, type Api } from '../engine/api/router.js';
import type { Engine } from '../engine/engine.js';
import { VERSION } from '../engine/version.js';

type Handler = (
  req: IncomingMessage & { body?: unknown; _body?: boolean },
  res: ServerResponse,
  next: () => void,
) => void;

export interface RouterLike {
  use(handler: Handler): unknown;
}

export type SimState = { running: false } | { running: true; engine?: Engine };

const json = (res: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) });
  res.end(text);
};

/**
 * The server's JSON body parser may have read the body already: hand the API handler a request
 * that carries it again.
 */
function withBody(req: IncomingMessage & { body?: unknown; _body?: boolean }): IncomingMessage {
  if (!req._body) return req;
  const text = JSON.stringify(req.body);
  const stream = Readable.from([Buffer.from(text)]);
  return Object.assign(stream, {
    method: req.method,
    url: req.url,
    headers: { ...req.headers, 'content-length': String(Buffer.byteLength(text)), 'content-type': 'application/json' },
    complete: false,
  }) as unknown as IncomingMessage;
}

export function simRouter(router: RouterLike, state: () => SimState): void {
  let api: { engine: Engine; api: Api } | null = null;
  router.use((req, res, next) => {
    const url = req.url ?? '/';
    if (!/^\/sim(\/|\?|$)/.test(url)) return next();
    const s = state();
    if (!s.running) return json(res, 503, { error: 'Plugin is not running' });
    if (!s.engine) return json(res, 404, { error: 'Not in simulator mode' });
    if (api?.engine !== s.engine) {
      api?.api.close();
      api = {
        engine: s.engine,
        api: createApi({ engine: s.engine, version: VERSION, dialect: () => 5, flash: false }),
      };
    }
    api.api.handle(withBody(req), res);
  });
}
