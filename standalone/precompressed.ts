// The panel's pre-compressed copies (scripts/build-webapp.mjs writes `<file>.br` and `<file>.gz`
// beside the larger files), served with Content-Encoding when the request's Accept-Encoding
// allows: Brotli first, then gzip, else the file itself (served by express.static after this).

import { readdirSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { NextFunction, Request, Response } from 'express';

export type Coding = 'br' | 'gzip';

/** The encodings a request accepts, with their q-values (RFC 9110 §12.5.3). */
function accepted(header: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m) q = Number(m[1]);
    }
    if (Number.isFinite(q)) out.set(name === 'x-gzip' ? 'gzip' : name, q);
  }
  return out;
}

/** br if acceptable, else gzip, else null (identity). A coding not named is acceptable through `*`. */
export function pickEncoding(header: string | undefined, available: ReadonlySet<Coding>): Coding | null {
  if (!header) return null;
  const acc = accepted(header);
  const ok = (c: Coding): boolean => available.has(c) && (acc.get(c) ?? acc.get('*') ?? 0) > 0;
  if (ok('br')) return 'br';
  if (ok('gzip')) return 'gzip';
  return null;
}

const SUFFIX: Record<Coding, string> = { br: '.br', gzip: '.gz' };

/**
 * Middleware for a flat panel directory: the variants are listed once (the build writes them before
 * halpid starts); each response is read from disk, so an upgraded panel is served as it is now.
 */
export function precompressed(dir: string, index = 'index.html') {
  const variants = new Map<string, Set<Coding>>();
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    // No panel directory: nothing to serve compressed.
  }
  const present = new Set(names);
  for (const name of names) {
    const codings = new Set<Coding>();
    for (const c of ['br', 'gzip'] as const) if (present.has(name + SUFFIX[c])) codings.add(c);
    if (codings.size > 0) variants.set(name, codings);
  }
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const name = req.path === '/' ? index : req.path.slice(1);
    const codings = variants.get(name);
    if (!codings) return next();
    // Caches must keep the encodings apart, the identity response included.
    res.setHeader('Vary', 'Accept-Encoding');
    const coding = pickEncoding(req.headers['accept-encoding'], codings);
    if (!coding) return next();
    void Promise.all([readFile(join(dir, name + SUFFIX[coding])), stat(join(dir, name))])
      .then(
        ([body, plain]) => {
          if (!plain.isFile()) return next();
          send(req, res, name, coding, body);
        },
        () => next(),
      ) // removed since the start: the plain file, or a 404, as without a variant
      .catch((err: unknown) => next(err));
  };
}

function send(req: Request, res: Response, name: string, coding: Coding, body: Buffer): void {
  res.type(name);
  res.setHeader('Content-Encoding', coding);
  res.setHeader('Content-Length', String(body.length));
  res.setHeader('Cache-Control', 'public, max-age=0');
  res.status(200);
  if (req.method === 'HEAD') res.end();
  else res.end(body);
}
