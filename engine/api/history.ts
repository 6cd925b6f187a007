// GET /history (docs/api.md): the engine's history buffer as compact JSON, columns of equal
// length (one entry per bucket) and the past blackouts. Shared by halpid's API and the Signal K
// plugin's route, so both hosts give the panel the same answer.

import type { History } from '../history.js';

export type HistoryAnswer = { ok: true; body: string } | { ok: false; message: string };

/**
 * `since`: Unix seconds, or a negative number of seconds before now (`-600`: the last 10 minutes);
 * `step`: 1 or 5 (s per bucket; default: the finest that reaches back to `since`).
 */
export function historyAnswer(history: History, nowWallMs: number, query: URLSearchParams): HistoryAnswer {
  let sinceMs = -Infinity;
  const since = query.get('since');
  if (since !== null) {
    const s = since.trim() === '' ? NaN : Number(since);
    if (!Number.isFinite(s))
      return { ok: false, message: `Invalid since: ${since} (Unix seconds, or negative seconds before now)` };
    sinceMs = s < 0 ? nowWallMs + s * 1000 : s * 1000;
  }
  const stepText = query.get('step');
  if (stepText !== null && stepText !== '1' && stepText !== '5')
    return { ok: false, message: `Invalid step: ${stepText} (1 or 5)` };
  const { step, ...buckets } = history.columns(sinceMs, stepText === null ? undefined : (Number(stepText) as 1 | 5));
  const blackouts = history.blackouts().map((b) => ({ ...b, start: b.start / 1000 }));
  return { ok: true, body: JSON.stringify({ step, now: Math.round(nowWallMs) / 1000, buckets, blackouts }) };
}
