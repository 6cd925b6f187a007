// The panel: renders PanelData, draws the voltage chart (uPlot), and wires the controls to the
// source of the page's host: halpid's web listener, or Signal K (served at /signalk-halpi2/).

import { blackoutView, controllerBanner, FORGET, type Memory } from './blackout-view.js';
import { badgeClass, capPercent, onOff, powerTexts, watchdogText } from './cards.js';
import { createChart } from './chart.js';
import { HalpidSource } from './halpid.js';
import {
  daemonTone,
  EMPTY,
  fixed,
  kelvinToCelsius,
  stateTone,
  WriteError,
  type PanelData,
  type Source,
} from './model.js';
import { check, FIELDS, show } from './settings.js';
import { SignalKSource } from './signalk.js';
import { setupTheme } from './theme.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

const onSignalK =
  location.pathname.startsWith('/signalk-halpi2') || new URLSearchParams(location.search).get('source') === 'signalk';
const source: Source = onSignalK ? new SignalKSource() : new HalpidSource();
let data: PanelData = { ...EMPTY };
let canWrite = false;

setupTheme($<HTMLSelectElement>('theme'));
const chart = createChart($('chart'), () => data);

// --- rendering ------------------------------------------------------------------------------

const text = (id: string, value: string): void => {
  const el = $(id);
  if (el.textContent !== value) el.textContent = value;
};

function tone(id: string, value: string | null, t: string): void {
  const el = $(id);
  text(id, value ?? '—');
  el.className = `tone-${t}`;
}

function render(): void {
  const d = data;
  text('v-in', fixed(d.V_in, 2));
  text('v-cap', fixed(d.V_cap, 2));
  // On the supercap the input says nothing: the cards show what the supercap delivers instead.
  const power = powerTexts(d);
  text('i-label', power.currentLabel);
  text('p-label', power.powerLabel);
  text('i-in', power.current);
  text('p-in', power.power);
  text('charge', power.charge);
  text('t-mcu', fixed(kelvinToCelsius(d.T_mcu), 1));
  text('t-pcb', fixed(kelvinToCelsius(d.T_pcb), 1));
  tone('power-state', d.state, stateTone(d.state));
  tone('daemon-state', d.daemonState, daemonTone(d.daemonState));
  text('watchdog', watchdogText(d));
  text('out5v', onOff(d.output5v));
  text('fw', d.firmwareVersion ?? '—');
  text('hw', d.hardwareVersion ?? '—');
  text('daemon-version', d.daemonVersion ?? '—');
  text('device-id', d.deviceId ?? '—');
  // The supercap bar: 0–11 V with the two thresholds marked.
  $('cap-bar').style.width = capPercent(d.V_cap);
  $('cap-on').style.left = capPercent(d.config?.power_on_threshold);
  $('cap-solo').style.left = capPercent(d.config?.solo_power_off_threshold);
  for (let n = 0; n < 4; n++) {
    const b = $(`usb-${n}`);
    const on = d.usb?.[n] ?? false;
    b.setAttribute('aria-checked', String(on));
    b.textContent = `USB ${n}: ${d.usb ? (on ? 'on' : 'off') : '—'}`;
    b.toggleAttribute('disabled', !writable(`usb.port${n}`) || !d.usb);
  }
  for (const f of FIELDS) {
    const input = $<HTMLInputElement>(`cfg-${f.key}`);
    if (d.config && document.activeElement !== input && !input.dataset.dirty) {
      input.value = show(f, d.config[f.key]);
    }
    input.toggleAttribute('disabled', !writable(f.leaf));
    $(`cfg-${f.key}-save`).toggleAttribute('disabled', !writable(f.leaf));
  }
  $('shutdown').toggleAttribute('disabled', !writable('commands.shutdown'));
  $('standby').toggleAttribute('disabled', !writable('commands.standby'));
  $('sim').hidden = !d.simulator;
  const alerts = $('alerts');
  alerts.replaceChildren(
    ...d.alerts.map((a) => {
      const li = document.createElement('li');
      li.className = `alert-${a.state}`;
      li.textContent = `${a.state}: ${a.message}`;
      return li;
    }),
  );
  renderCountdown();
}

/** What the blackout view keeps between two drawings (blackout-view.ts decides what it shows). */
let memory: Memory = FORGET;

function renderCountdown(): void {
  const view = blackoutView(data, memory, Date.now());
  memory = view.mem;
  $('blackout').hidden = view.texts === null;
  if (view.texts) {
    text('bo-title', view.texts.title);
    text('bo-timer', view.texts.timer);
    text('bo-timer-unit', view.texts.unit);
    text('bo-charge', view.texts.charge);
    text('bo-runtime', view.texts.runtime);
    text('bo-power', view.texts.power);
    text('bo-current', view.texts.current);
  }
  const banner = controllerBanner(data.controllerDown, Date.now());
  $('banner').hidden = banner === null;
  if (banner !== null) text('banner', banner);
}
setInterval(renderCountdown, 250);

/** Whether this user may change `leaf`: halpid by the listener's rules, Signal K by the path's meta. */
function writable(leaf: string): boolean {
  if (source instanceof SignalKSource) return source.canPut(leaf);
  if (leaf.startsWith('commands.')) return canWrite;
  return canWrite;
}

// --- controls -------------------------------------------------------------------------------

const report = (id: string, err: unknown): void => {
  const el = $(id);
  el.textContent = err instanceof Error ? err.message : String(err);
  el.className = 'msg error';
  if (err instanceof WriteError && err.status === 403) void refreshAccess();
};
const ok = (id: string, message: string): void => {
  const el = $(id);
  el.textContent = message;
  el.className = 'msg';
};

for (let n = 0; n < 4; n++) {
  $(`usb-${n}`).addEventListener('click', () => {
    const on = !(data.usb?.[n] ?? false);
    source.setUsb(n, on).then(
      () => {
        ok('usb-msg', `USB ${n} ${on ? 'on' : 'off'}`);
        if (data.usb) {
          const usb = [...data.usb] as PanelData['usb'];
          usb![n] = on;
          data = { ...data, usb };
          render();
        }
      },
      (err) => report('usb-msg', err),
    );
  });
}

const form = $('settings');
for (const f of FIELDS) {
  const row = document.createElement('div');
  row.className = 'setting';
  const id = `cfg-${f.key}`;
  row.innerHTML =
    `<label for="${id}">${f.label}${f.unit ? ` (${f.unit})` : ''}</label>` +
    `<input id="${id}" ${f.key === 'auto_restart' ? '' : 'inputmode="decimal"'} aria-describedby="${id}-hint ${id}-msg" disabled>` +
    `<button type="button" id="${id}-save" disabled>Save</button>` +
    `<small id="${id}-hint">${f.hint}</small><output id="${id}-msg" class="msg" role="status"></output>`;
  form.append(row);
  const input = row.querySelector('input')!;
  input.addEventListener('input', () => {
    input.dataset.dirty = '1';
  });
  row.querySelector('button')!.addEventListener('click', () => {
    const checked = check(f.key, input.value);
    if (!checked.ok) return report(`${id}-msg`, new Error(checked.error));
    const msg = $(`${id}-msg`);
    msg.textContent = 'Saving…';
    msg.className = 'msg';
    source
      .setConfig(f.key, checked.value)
      .then(() => source.readConfig(f.key))
      .then(
        (held) => {
          delete input.dataset.dirty;
          if (held === null) return report(`${id}-msg`, new Error('Sent, but the setting could not be read back'));
          input.value = show(f, held);
          if (data.config) data = { ...data, config: { ...data.config, [f.key]: held } };
          // What the controller holds, read again: not merely that the write was accepted.
          ok(`${id}-msg`, `Controller now holds ${show(f, held)}${f.unit ? ` ${f.unit}` : ''}`);
          $(`${id}-msg`).className = 'msg held';
        },
        (err) => report(`${id}-msg`, err),
      );
  });
}

// Shutdown and standby: a confirmation dialog first.
const dialog = $<HTMLDialogElement>('confirm');
function confirmAction(kind: 'shutdown' | 'standby'): void {
  text('confirm-title', kind === 'shutdown' ? 'Shut the computer down?' : 'Put the computer in standby?');
  text(
    'confirm-text',
    kind === 'shutdown'
      ? 'The operating system shuts down and the HALPI2 cuts its power. It starts again when the power button is pressed or the power returns.'
      : 'The operating system shuts down and the HALPI2 wakes it up after the delay.',
  );
  $('confirm-delay-row').hidden = kind !== 'standby';
  text('confirm-ok', kind === 'shutdown' ? 'Shut down' : 'Standby');
  dialog.returnValue = '';
  dialog.showModal();
  dialog.addEventListener(
    'close',
    () => {
      if (dialog.returnValue !== 'ok') return;
      const minutes = Number($<HTMLInputElement>('confirm-delay').value);
      const action = kind === 'shutdown' ? source.shutdown() : source.standby(Math.max(1, Math.round(minutes)) * 60);
      action.then(
        () => ok('actions-msg', kind === 'shutdown' ? 'Shutdown requested' : 'Standby requested'),
        (err) => report('actions-msg', err),
      );
    },
    { once: true },
  );
}
$('shutdown').addEventListener('click', () => confirmAction('shutdown'));
$('standby').addEventListener('click', () => confirmAction('standby'));

// The simulator drawer.
const simDo = (p: Promise<void>, done: string) =>
  p.then(
    () => ok('sim-msg', done),
    (err) => report('sim-msg', err),
  );
$('sim-cut').addEventListener('click', () => simDo(source.sim.power(false), 'Input power cut'));
$('sim-restore').addEventListener('click', () => simDo(source.sim.power(true), 'Input power restored'));
$('sim-vin').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const v = Number($<HTMLInputElement>('sim-vin-value').value);
  void simDo(source.sim.inputVoltage(v), `Input voltage set to ${v} V`);
});
$('sim-fault').addEventListener('click', () =>
  simDo(source.sim.fault('nack'), 'Half of the bus transactions now fail'),
);
$('sim-clear').addEventListener('click', () => simDo(source.sim.clearFaults(), 'Faults cleared'));

// --- access ---------------------------------------------------------------------------------

async function refreshAccess(): Promise<void> {
  const a = await source.access().catch(() => ({ write: false }) as Awaited<ReturnType<Source['access']>>);
  canWrite = a.write;
  const ro = $('readonly');
  if (source instanceof SignalKSource) {
    ro.hidden = true; // each control follows its path's meta; a refused PUT says "Log in"
  } else {
    ro.hidden = a.write;
    text(
      'readonly-text',
      a.token
        ? "Read-only: enter the web token to make changes (web-token in halpid's configuration, or the one-time token in the panel address halpid logs at start)."
        : 'Read-only: this listener is not on this computer and has no web token, so nothing can be changed from here.',
    );
    $('token-form').hidden = !a.token;
  }
  render();
}
$('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const typed = $<HTMLInputElement>('token').value;
  source.setToken?.(typed);
  void refreshAccess().then(() => {
    // Without this the form only stays as it was, as if nothing had been tried.
    if (!canWrite) {
      text(
        'readonly-text',
        typed
          ? 'That is not the web token: still read-only. (A one-time token changes each time halpid starts; the current one is in the panel address it logs.)'
          : 'Enter the web token to make changes.',
      );
    }
  });
});

// --- start ----------------------------------------------------------------------------------

source.connect(
  (patch) => {
    data = { ...data, ...patch };
    if ('V_in' in patch || 'V_cap' in patch) chart.addPoint(data);
    render();
  },
  (s) => {
    const el = $('conn');
    el.textContent = s.message;
    el.className = badgeClass(s);
    if (s.connected && source instanceof SignalKSource) void refreshAccess();
  },
);
void refreshAccess();
