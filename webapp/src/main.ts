// The panel: renders PanelData, draws the voltage chart (uPlot), and wires the controls to the
// source of the page's host: halpid's web listener, or Signal K (served at /signalk-halpi2/).

import uPlot from 'uplot';
import { HalpidSource } from './halpid.js';
import {
  daemonTone, EMPTY, fixed, kelvinToCelsius, stateTone, WriteError, type ControllerConfig, type PanelData, type Source,
} from './model.js';
import { SignalKSource } from './signalk.js';

const WINDOW_S = 600;
const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

const onSignalK = location.pathname.startsWith('/signalk-halpi2') || new URLSearchParams(location.search).get('source') === 'signalk';
const source: Source = onSignalK ? new SignalKSource() : new HalpidSource();
let data: PanelData = { ...EMPTY };
let canWrite = false;

// --- theme ----------------------------------------------------------------------------------

const theme = $('theme');
const applyTheme = (day: boolean): void => {
  document.documentElement.dataset.theme = day ? 'day' : 'night';
  theme.setAttribute('aria-pressed', String(day));
  theme.textContent = day ? 'Night colours' : 'Day colours';
  localStorage.setItem('halpi2-theme', day ? 'day' : 'night');
};
applyTheme(localStorage.getItem('halpi2-theme') === 'day');
theme.addEventListener('click', () => applyTheme(document.documentElement.dataset.theme !== 'day'));

// --- chart ----------------------------------------------------------------------------------

const times: number[] = [];
const vin: Array<number | null> = [];
const vcap: Array<number | null> = [];
let lastPoint = 0;

const thresholds = (u: uPlot): void => {
  const ctx = u.ctx;
  const lines: Array<[number | null | undefined, string]> = [
    [data.voltageLimit, '#e0a030'], [data.config?.power_on_threshold, '#4aa3ff'],
  ];
  for (const [v, colour] of lines) {
    if (v === null || v === undefined) continue;
    const y = u.valToPos(v, 'y', true);
    ctx.save();
    ctx.strokeStyle = colour;
    ctx.setLineDash([6, 4]);
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(u.bbox.left, y);
    ctx.lineTo(u.bbox.left + u.bbox.width, y);
    ctx.stroke();
    ctx.restore();
  }
};

const chartEl = $('chart');
const chart = new uPlot({
  width: chartEl.clientWidth || 600,
  height: 220,
  scales: { x: { time: true }, y: { range: [0, 16] } },
  axes: [{ stroke: '#9aa5b1', grid: { stroke: '#33404d' } }, { stroke: '#9aa5b1', grid: { stroke: '#33404d' }, values: (_u, v) => v.map((x) => `${x} V`) }],
  series: [
    {},
    { label: 'Input', stroke: '#36c26b', width: 2 },
    { label: 'Supercap', stroke: '#4aa3ff', width: 2 },
  ],
  hooks: { draw: [thresholds] },
  legend: { show: true },
}, [times, vin, vcap], chartEl);
new ResizeObserver(() => chart.setSize({ width: chartEl.clientWidth, height: 220 })).observe(chartEl);

function addPoint(): void {
  const now = Date.now() / 1000;
  if (now - lastPoint < 0.9) return;
  lastPoint = now;
  times.push(now);
  vin.push(data.V_in);
  vcap.push(data.V_cap);
  while (times.length && times[0]! < now - WINDOW_S) {
    times.shift();
    vin.shift();
    vcap.shift();
  }
  chart.setData([times, vin, vcap]);
}

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
  text('i-in', fixed(d.I_in, 2));
  text('p-in', d.V_in !== null && d.I_in !== null ? fixed(d.V_in * d.I_in, 1) : '—');
  text('t-mcu', fixed(kelvinToCelsius(d.T_mcu), 1));
  text('t-pcb', fixed(kelvinToCelsius(d.T_pcb), 1));
  tone('power-state', d.state, stateTone(d.state));
  tone('daemon-state', d.daemonState, daemonTone(d.daemonState));
  text('watchdog', d.watchdogEnabled === null ? '—' : d.watchdogEnabled ? `armed, ${fixed(d.watchdogTimeout, 1)} s` : 'off');
  text('out5v', d.output5v === null ? '—' : d.output5v ? 'on' : 'off');
  text('fw', d.firmwareVersion ?? '—');
  text('hw', d.hardwareVersion ?? '—');
  text('daemon-version', d.daemonVersion ?? '—');
  text('device-id', d.deviceId ?? '—');
  // The supercap bar: 0–11 V with the two thresholds marked.
  const pct = (v: number | null | undefined) => `${Math.max(0, Math.min(100, ((v ?? 0) / 11) * 100))}%`;
  $('cap-bar').style.width = pct(d.V_cap);
  $('cap-on').style.left = pct(d.config?.power_on_threshold);
  $('cap-solo').style.left = pct(d.config?.solo_power_off_threshold);
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
      const v = d.config[f.key];
      // Thresholds are float32 on the wire (7.99974…): shown as the controller rounds them.
      input.value = typeof v === 'number' && f.unit === 'V' ? v.toFixed(2) : String(v);
    }
    input.toggleAttribute('disabled', !writable(f.leaf));
    $(`cfg-${f.key}-save`).toggleAttribute('disabled', !writable(f.leaf));
  }
  $('shutdown').toggleAttribute('disabled', !writable('commands.shutdown'));
  $('standby').toggleAttribute('disabled', !writable('commands.standby'));
  $('sim').hidden = !d.simulator;
  const alerts = $('alerts');
  alerts.replaceChildren(...d.alerts.map((a) => {
    const li = document.createElement('li');
    li.className = `alert-${a.state}`;
    li.textContent = `${a.state}: ${a.message}`;
    return li;
  }));
  renderCountdown();
}

function renderCountdown(): void {
  const el = $('countdown');
  const banner = $('banner');
  let message = '';
  if (data.shuttingDown || data.daemonState === 'SHUTDOWN') message = 'Shutting down after input power loss';
  else if (data.shutdownAt !== null) {
    const left = Math.max(0, Math.ceil((data.shutdownAt - Date.now()) / 1000));
    message = `Input power lost: running on the supercap. Shutdown in ${left} s`;
  } else if (data.daemonState === 'BLACKOUT') message = 'Input power lost: running on the supercap';
  const down = data.controllerDown;
  if (message === '' && down) {
    const why = down.error ? ` (${down.error})` : '';
    message = down.powerCycleAt === null
      ? `The controller is not answering${why}`
      : `The controller is not answering${why}: its watchdog will power-cycle this computer in ${Math.max(0, Math.ceil((down.powerCycleAt - Date.now()) / 1000))} s`;
    banner.hidden = false;
    text('banner', message);
    el.hidden = true;
    return;
  }
  el.hidden = message === '';
  banner.hidden = message === '';
  text('countdown', message);
  text('banner', message);
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
    source.setUsb(n, on).then(() => {
      ok('usb-msg', `USB ${n} ${on ? 'on' : 'off'}`);
      if (data.usb) {
        const usb = [...data.usb] as PanelData['usb'];
        usb![n] = on;
        data = { ...data, usb };
        render();
      }
    }, (err) => report('usb-msg', err));
  });
}

interface Field { key: keyof ControllerConfig; leaf: string; label: string; unit: string; hint: string }
const FIELDS: Field[] = [
  { key: 'power_on_threshold', leaf: 'config.powerOnThreshold', label: 'Power-on threshold', unit: 'V', hint: '5–10 V' },
  { key: 'solo_power_off_threshold', leaf: 'config.soloPowerOffThreshold', label: 'Solo power-off threshold', unit: 'V', hint: '4.5–10 V' },
  { key: 'solo_depleting_timeout', leaf: 'config.soloDepletingTimeout', label: 'Solo blackout timeout', unit: 's', hint: '0–60 s' },
  { key: 'watchdog_timeout', leaf: 'watchdog.timeout', label: 'Watchdog timeout', unit: 's', hint: '0 = off, else 10–65.535 s' },
  { key: 'led_brightness', leaf: 'config.ledBrightness', label: 'LED brightness', unit: '', hint: '0–255' },
  { key: 'auto_restart', leaf: 'config.autoRestart', label: 'Restart when power returns', unit: '', hint: 'true or false' },
];

const form = $('settings');
for (const f of FIELDS) {
  const row = document.createElement('div');
  row.className = 'setting';
  const id = `cfg-${f.key}`;
  row.innerHTML = `<label for="${id}">${f.label}${f.unit ? ` (${f.unit})` : ''}</label>` +
    `<input id="${id}" ${f.key === 'auto_restart' ? '' : 'inputmode="decimal"'} aria-describedby="${id}-hint ${id}-msg" disabled>` +
    `<button type="button" id="${id}-save" disabled>Save</button>` +
    `<small id="${id}-hint">${f.hint}</small><output id="${id}-msg" class="msg" role="status"></output>`;
  form.append(row);
  const input = row.querySelector('input')!;
  input.addEventListener('input', () => { input.dataset.dirty = '1'; });
  row.querySelector('button')!.addEventListener('click', () => {
    const value = input.value.trim();
    if (value === '') return report(`${id}-msg`, new Error('Enter a value'));
    source.setConfig(f.key, value).then(() => {
      delete input.dataset.dirty;
      ok(`${id}-msg`, 'Saved');
    }, (err) => report(`${id}-msg`, err));
  });
}

// Shutdown and standby: a confirmation dialog first.
const dialog = $<HTMLDialogElement>('confirm');
function confirmAction(kind: 'shutdown' | 'standby'): void {
  text('confirm-title', kind === 'shutdown' ? 'Shut the computer down?' : 'Put the computer in standby?');
  text('confirm-text', kind === 'shutdown'
    ? 'The operating system shuts down and the HALPI2 cuts its power. It starts again when the power button is pressed or the power returns.'
    : 'The operating system shuts down and the HALPI2 wakes it up after the delay.');
  $('confirm-delay-row').hidden = kind !== 'standby';
  text('confirm-ok', kind === 'shutdown' ? 'Shut down' : 'Standby');
  dialog.returnValue = '';
  dialog.showModal();
  dialog.addEventListener('close', () => {
    if (dialog.returnValue !== 'ok') return;
    const minutes = Number($<HTMLInputElement>('confirm-delay').value);
    const action = kind === 'shutdown' ? source.shutdown() : source.standby(Math.max(1, Math.round(minutes)) * 60);
    action.then(() => ok('actions-msg', kind === 'shutdown' ? 'Shutdown requested' : 'Standby requested'), (err) => report('actions-msg', err));
  }, { once: true });
}
$('shutdown').addEventListener('click', () => confirmAction('shutdown'));
$('standby').addEventListener('click', () => confirmAction('standby'));

// The simulator drawer.
const simDo = (p: Promise<void>, done: string) => p.then(() => ok('sim-msg', done), (err) => report('sim-msg', err));
$('sim-cut').addEventListener('click', () => simDo(source.sim.power(false), 'Input power cut'));
$('sim-restore').addEventListener('click', () => simDo(source.sim.power(true), 'Input power restored'));
$('sim-vin').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const v = Number($<HTMLInputElement>('sim-vin-value').value);
  void simDo(source.sim.inputVoltage(v), `Input voltage set to ${v} V`);
});
$('sim-fault').addEventListener('click', () => simDo(source.sim.fault('nack'), 'Half of the bus transactions now fail'));
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
    text('readonly-text', a.token
      ? 'Read-only: enter the web token to make changes (web-token in halpid\'s configuration, or the one-time token in the panel address halpid logs at start).'
      : 'Read-only: this listener is not on this computer and has no web token, so nothing can be changed from here.');
    $('token-form').hidden = !a.token;
  }
  render();
}
$('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  source.setToken?.($<HTMLInputElement>('token').value);
  void refreshAccess();
});

// --- start ----------------------------------------------------------------------------------

source.connect((patch) => {
  data = { ...data, ...patch };
  if ('V_in' in patch || 'V_cap' in patch) addPoint();
  render();
}, (s) => {
  const el = $('conn');
  el.textContent = s.message;
  el.className = s.connected ? 'badge ok' : 'badge danger';
  if (s.connected && source instanceof SignalKSource) void refreshAccess();
});
void refreshAccess();
