// The texts of the state cards and the connection badge, from PanelData: pure, tested in node
// (test/webapp/src/cards.test.ts); main.ts puts them on the page.

import { onSupercap } from './blackout-view.js';
import { fixed, type PanelData, type Status } from './model.js';

export interface PowerTexts {
  currentLabel: string;
  powerLabel: string;
  current: string;
  power: string;
  charge: string;
}

/** The current and power cards: on the supercap the input says nothing, so they show what the supercap delivers. */
export function powerTexts(d: PanelData): PowerTexts {
  const onCap = onSupercap(d);
  return {
    currentLabel: onCap ? 'Supercap current' : 'Current',
    powerLabel: onCap ? 'Supercap power' : 'Power',
    current: onCap ? fixed(d.supply?.current ?? null, 2) : fixed(d.I_in, 2),
    power: onCap
      ? fixed(d.supply?.power ?? null, 1)
      : d.V_in !== null && d.I_in !== null
        ? fixed(d.V_in * d.I_in, 1)
        : '—',
    charge: d.supply?.charge == null ? '—' : `${fixed(d.supply.charge, 0)} %`,
  };
}

export function watchdogText(d: PanelData): string {
  return d.watchdogEnabled === null ? '—' : d.watchdogEnabled ? `armed, ${fixed(d.watchdogTimeout, 1)} s` : 'off';
}

export const onOff = (v: boolean | null): string => (v === null ? '—' : v ? 'on' : 'off');

/** A voltage's place on the supercap bar (0–11 V), as a CSS width or offset. */
export function capPercent(v: number | null | undefined): string {
  return `${Math.max(0, Math.min(100, ((v ?? 0) / 11) * 100))}%`;
}

/** The connection badge: green while connected and values come, red otherwise. */
export const badgeClass = (s: Status): string => (s.connected ? 'badge ok' : 'badge danger');
