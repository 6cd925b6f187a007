// The list of past blackouts below the chart, newest first: the page's part (blackouts.ts says
// what each row reads).

import { liveRow, rowTexts, type BlackoutRow } from './blackouts.js';

/** The list, placed after `chartEl` in its card. */
export function pastBlackouts(chartEl: HTMLElement): {
  /** `skew`: the host's clock minus the browser's, in seconds. */
  show(rows: BlackoutRow[], skew?: number): void;
  /** A live supercap reading: a blackout going on grows its length and its lowest voltage. */
  live(vCap: number | null): void;
  unavailable(why: string | null): void;
} {
  const box = document.createElement('div');
  box.className = 'past-blackouts';
  box.innerHTML =
    '<h3 id="h-blackouts">Past blackouts</h3><p id="blackouts-none" class="msg">Loading…</p>' +
    '<table id="blackouts" aria-labelledby="h-blackouts" hidden><thead><tr><th scope="col">Start</th><th scope="col">Length</th><th scope="col">Outcome</th></tr></thead><tbody></tbody></table>';
  chartEl.after(box);
  const none = box.querySelector('p')!;
  const table = box.querySelector('table')!;
  const body = box.querySelector('tbody')!;
  let shown: BlackoutRow[] = [];
  let hostSkew = 0;
  const self = {
    show(rows: BlackoutRow[], skew = hostSkew) {
      shown = rows;
      hostSkew = skew;
      table.hidden = rows.length === 0;
      none.hidden = rows.length > 0;
      none.textContent = 'None since the daemon started.';
      body.replaceChildren(
        ...[...rows].reverse().map((b) => {
          const tr = document.createElement('tr');
          tr.className = `outcome-${b.outcome}`;
          for (const text of rowTexts(b, Date.now())) {
            const td = document.createElement('td');
            td.textContent = text;
            tr.append(td);
          }
          return tr;
        }),
      );
    },
    live(vCap: number | null) {
      // Between two reads of the history, the row of a blackout going on would stand still.
      const last = shown[shown.length - 1];
      if (last?.outcome !== 'ongoing') return;
      self.show([...shown.slice(0, -1), liveRow(last, vCap, Date.now() / 1000 + hostSkew)]);
    },
    unavailable(why: string | null) {
      shown = [];
      table.hidden = true;
      none.hidden = false;
      none.textContent = why ?? 'Not available from this server.';
    },
  };
  return self;
}
