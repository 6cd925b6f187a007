// POST /flash request body: the first multipart part named `firmware` (docs/api.md), with
// halpid 5.0.2's error texts for each way a body can be wrong.

import type busboy from 'busboy';
import type { IncomingMessage } from 'node:http';
import { afterDrain, BODY_LIMIT } from './http.js';

export type FirmwareUpload =
  { ok: true; image: Buffer } | { ok: false; status: 400; kind: 'text' | 'json'; message: string };

const MALFORMED = 'Error parsing `multipart/form-data` request';

export function hasBoundary(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const [essence, ...params] = contentType.split(';');
  if (essence?.trim().toLowerCase() !== 'multipart/form-data') return false;
  return params.some((p) => /^\s*boundary\s*=\s*("?)[^"]+\1\s*$/i.test(p));
}

export async function readFirmware(req: IncomingMessage, limit = BODY_LIMIT): Promise<FirmwareUpload> {
  if (!hasBoundary(req.headers['content-type'])) {
    req.resume();
    return {
      ok: false,
      status: 400,
      kind: 'text',
      message: 'Invalid `boundary` for `multipart/form-data` request',
    };
  }
  // Loaded for an upload only: the daemon's start does not parse it (docs/performance.md). The
  // body waits, paused, until it is piped below.
  const { default: createBusboy } = await import('busboy');
  return new Promise((resolve) => {
    let settled = false;
    let inFirmware = false;
    let received = 0;
    const chunks: Buffer[] = [];
    const finish = (result: FirmwareUpload): void => {
      if (settled) return;
      settled = true;
      req.unpipe(bb);
      // Parts after `firmware` are not read; the rest of the body is discarded. An error is
      // answered once the client has finished sending, so it sees the answer, not a reset.
      if (result.ok) {
        req.resume();
        resolve(result);
      } else {
        afterDrain(req, () => resolve(result));
      }
    };
    const fail = (where: 'field' | 'data'): void =>
      finish({
        ok: false,
        status: 400,
        kind: 'json',
        message:
          where === 'data'
            ? `Failed to extract firmware: Failed to read firmware data: ${MALFORMED}`
            : `Failed to extract firmware: Failed to read multipart field: ${MALFORMED}`,
      });

    let bb: busboy.Busboy;
    try {
      bb = createBusboy({
        headers: req.headers,
        // A part without a filename arrives as a string: latin1 maps it back to its bytes.
        defCharset: 'latin1',
        limits: { fileSize: limit, fieldSize: limit, parts: 1000 },
      });
    } catch {
      req.resume();
      resolve({
        ok: false,
        status: 400,
        kind: 'text',
        message: 'Invalid `boundary` for `multipart/form-data` request',
      });
      return;
    }
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit && !settled) fail(inFirmware ? 'data' : 'field');
    });
    bb.on('file', (name, stream) => {
      // A part cut short errors its stream: unhandled, that would take the daemon down.
      stream.on('error', () => fail(name === 'firmware' ? 'data' : 'field'));
      if (settled || name !== 'firmware') {
        stream.resume();
        return;
      }
      inFirmware = true;
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('limit', () => fail('data'));
      stream.on('end', () => {
        inFirmware = false;
        if (!settled) finish({ ok: true, image: Buffer.concat(chunks) });
      });
    });
    bb.on('field', (name, value, info) => {
      if (settled || name !== 'firmware') return;
      if (info.valueTruncated) fail('data');
      else finish({ ok: true, image: Buffer.from(value, 'latin1') });
    });
    bb.on('error', () => fail(inFirmware ? 'data' : 'field'));
    bb.on('close', () => {
      if (!settled)
        finish({
          ok: false,
          status: 400,
          kind: 'json',
          message: "Failed to extract firmware: No 'firmware' field found in multipart form",
        });
    });
    req.on('aborted', () => fail(inFirmware ? 'data' : 'field'));
    req.pipe(bb);
  });
}
