// The optional web listener (docs/configuration.md): the panel's static files at `/` and the API
// under `/api` (never /api/flash). Writes only from loopback or with the bearer token; a Host
// check guards against DNS rebinding.

import { timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import express from 'express';
import { parseListenAddress, type ListenAddress } from '../engine/address.js';
import { afterDrain } from '../engine/api/http.js';
import type { Api } from '../engine/api/router.js';
import type { Logger } from '../engine/log.js';
import { MAX_HEADER_BYTES } from './connections.js';

export type WebAddress = ListenAddress;

/** `host:port`, `[v6]:port`, or a bare port (= 127.0.0.1). */
export const parseWebAddress = (text: string): WebAddress => parseListenAddress(text, 'web address');

export const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::ffff:127.0.0.1';

function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return out;
}

/** The host name of a Host header, without brackets and port; '' when there is none. */
function hostOf(header = ''): string {
  const m = /^\[([^\]]+)\](?::[0-9]+)?$/.exec(header) ?? /^([^:]+)(?::[0-9]+)?$/.exec(header);
  return m ? m[1]!.toLowerCase() : '';
}

const FORBIDDEN = '{"error":"Read-only: set web-token to allow changes over the web listener"}';

export function createWebApp(opts: { api: Api; bound: WebAddress; token: () => string; panelDir?: string }) {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const bound = opts.bound.host.toLowerCase();
  const locals = localAddresses();
  app.use((req, res, next) => {
    res.setHeader('Content-Security-Policy', "default-src 'self'");
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    const host = hostOf(req.headers.host);
    if (!(host === bound || host === 'localhost' || locals.has(host))) {
      res.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Misdirected Request\n');
      return;
    }
    next();
  });
  const mayWrite = (req: IncomingMessage): boolean => isLoopback(bound) || authorised(req, opts.token());
  // What the panel may do: it shows itself read-only, or asks for the token, before a write fails.
  app.get('/access', (req, res) => {
    res.json({ write: mayWrite(req), token: !isLoopback(bound) && opts.token() !== '' });
  });
  app.use('/api', (req: IncomingMessage, res: ServerResponse) => {
    if (['PUT', 'POST', 'DELETE', 'PATCH'].includes(req.method ?? '') && !mayWrite(req)) {
      afterDrain(req, () => {
        res.writeHead(403, { 'Content-Type': 'application/json', 'Content-Length': String(FORBIDDEN.length) });
        res.end(FORBIDDEN);
      });
      return;
    }
    opts.api.handle(req, res);
  });
  if (opts.panelDir && existsSync(opts.panelDir)) {
    app.use(express.static(opts.panelDir, { index: 'index.html', etag: false }));
  } else {
    app.get('/', (_req, res) => {
      res.type('html').send('<!doctype html><meta charset="utf-8"><title>halpid</title><p>halpid is running. The API is under <a href="api/values">/api</a>.</p>\n');
    });
  }
  return app;
}

/** `Authorization: Bearer <token>`; an empty token (none configured) never matches. */
function authorised(req: IncomingMessage, token: string): boolean {
  const auth = req.headers.authorization;
  if (!auth?.startsWith('Bearer ')) return false;
  const a = Buffer.from(auth.slice('Bearer '.length));
  const b = Buffer.from(token);
  return b.length > 0 && a.length === b.length && timingSafeEqual(a, b);
}

export async function startWeb(opts: {
  address: string;
  api: Api;
  token: () => string;
  logger: Logger;
  panelDir?: string;
}): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const bound = parseWebAddress(opts.address);
  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, createWebApp({ api: opts.api, bound, token: opts.token, panelDir: opts.panelDir }));
  server.requestTimeout = 0; // event streams stay open; the daemon's HttpConnections bounds idle ones
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bound.port, bound.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const host = bound.host.includes(':') ? `[${bound.host}]` : bound.host;
  // The port actually bound (it differs when 0 asked the system for a free one).
  const url = `http://${host}:${(server.address() as AddressInfo).port}/`;
  opts.logger.info(`Web panel listening on ${url}`);
  return {
    server,
    url,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
