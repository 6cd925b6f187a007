// GET /metrics: Prometheus text exposition 0.0.4 (docs/api.md). No bus access: the latest
// poll and the engine's counters; a measurement never read is omitted, not reported as 0.

import { STATUS_FALLBACK, type Engine } from '../engine.js';
import { faceErrors } from '../face-errors.js';
import { POWER_STATES } from '../registers.js';
import { DAEMON_STATES } from '../supervisor.js';
import type { Dialect } from './json-write.js';

/** A face of the daemon (web listener, NUT server) as /metrics and `halpi status` report it. */
export interface FaceStatus {
  face: string;
  address: string;
  up: boolean;
  /** Why it is down (the last start attempt's error); null when up. */
  error: string | null;
}

/** A listener's connections, for /metrics. */
export interface ListenerConnections {
  listener: string;
  open: number;
  /** Dropped to stay within the listener's connection limit. */
  dropped: number;
}

export class HttpCounters {
  private readonly counts = new Map<string, number>();

  count(method: string, route: string, status: number): void {
    const key = `${method}\u0000${route}\u0000${status}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  entries(): Array<{ method: string; route: string; status: string; n: number }> {
    return [...this.counts].map(([k, n]) => {
      const [method, route, status] = k.split('\u0000') as [string, string, string];
      return { method, route, status, n };
    });
  }
}

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labels = (l: Record<string, string>): string => {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};

export function renderMetrics(
  engine: Engine,
  http: HttpCounters,
  info: { version: string; dialect: Dialect; faces?: FaceStatus[]; connections?: ListenerConnections[] },
): string {
  const out: string[] = [];
  const metric = (
    name: string,
    type: 'gauge' | 'counter',
    help: string,
    samples: Array<[Record<string, string>, number]>,
  ) => {
    if (samples.length === 0) return;
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [l, v] of samples) out.push(`${name}${labels(l)} ${String(v)}`);
  };
  const last = engine.lastMeasurements;
  const m = last?.values;
  const s = engine.status;
  const one = (v: number | undefined): Array<[Record<string, string>, number]> => (v === undefined ? [] : [[{}, v]]);
  metric('halpi_input_voltage_volts', 'gauge', 'Input voltage V_in.', one(m?.V_in));
  metric('halpi_supercap_voltage_volts', 'gauge', 'Supercapacitor voltage V_cap.', one(m?.V_cap));
  metric('halpi_input_current_amperes', 'gauge', 'Input current I_in.', one(m?.I_in));
  metric(
    'halpi_mcu_temperature_celsius',
    'gauge',
    'Controller MCU temperature.',
    one(m ? m.T_mcu - 273.15 : undefined),
  );
  metric('halpi_pcb_temperature_celsius', 'gauge', 'Board temperature.', one(m ? m.T_pcb - 273.15 : undefined));
  const cs = engine.lastControllerState;
  if (cs)
    metric(
      'halpi_controller_state',
      'gauge',
      'Controller power state (1 for the current one).',
      POWER_STATES.map((n) => [{ state: n }, n === cs ? 1 : 0]),
    );
  metric(
    'halpi_daemon_state',
    'gauge',
    'Daemon state machine state (1 for the current one).',
    DAEMON_STATES.map((n) => [{ state: n }, n === engine.state ? 1 : 0]),
  );
  metric(
    'halpi_5v_output_enabled',
    'gauge',
    '5 V output power good.',
    one(s.output5v === undefined ? undefined : Number(s.output5v)),
  );
  const usb = engine.lastUsb;
  if (usb !== null)
    metric(
      'halpi_usb_port_enabled',
      'gauge',
      'USB port power.',
      [0, 1, 2, 3].map((p) => [{ port: String(p) }, (usb >> p) & 1]),
    );
  metric(
    'halpi_watchdog_enabled',
    'gauge',
    'Controller watchdog armed.',
    one(s.watchdogMs === undefined ? undefined : Number(s.watchdogMs > 0)),
  );
  metric(
    'halpi_watchdog_timeout_seconds',
    'gauge',
    'Controller watchdog timeout.',
    one(s.watchdogMs === undefined ? undefined : s.watchdogMs / 1000),
  );
  const sup = engine.supervisor;
  metric('halpi_blackouts_total', 'counter', 'Blackouts since start.', [[{}, sup.blackoutsTotal]]);
  metric('halpi_blackout_seconds_total', 'counter', 'Time spent in blackout since start.', [
    [{}, sup.blackoutSecondsTotal],
  ]);
  metric(
    'halpi_last_poll_timestamp_seconds',
    'gauge',
    'Unix time of the last successful measurement poll.',
    one(last ? last.wall / 1000 : undefined),
  );
  metric('halpi_poll_errors_total', 'counter', 'Failed state machine ticks.', [[{}, sup.pollErrorsTotal]]);
  const reach = engine.reachability;
  metric('halpi_controller_reachable', 'gauge', 'The controller answers on the bus (0 after a second of silence).', [
    [{}, Number(reach.reachable)],
  ]);
  metric('halpi_controller_silent_seconds', 'gauge', 'Seconds since the controller last answered, while it does not.', [
    [{}, reach.silentS],
  ]);
  const c = engine.i2cCounters;
  const ops = (f: (o: typeof c.read) => number): Array<[Record<string, string>, number]> => [
    [{ op: 'read' }, f(c.read)],
    [{ op: 'write' }, f(c.write)],
  ];
  metric(
    'halpi_i2c_transactions_total',
    'counter',
    'I2C transaction attempts.',
    ops((o) => o.transactions),
  );
  metric(
    'halpi_i2c_errors_total',
    'counter',
    'Failed I2C attempts.',
    ops((o) => o.errors),
  );
  metric(
    'halpi_i2c_retries_total',
    'counter',
    'I2C attempts after the first.',
    ops((o) => o.retries),
  );
  metric(
    'halpi_i2c_failures_total',
    'counter',
    'I2C operations that failed after all attempts.',
    ops((o) => o.failures),
  );
  metric(
    'halpi_http_requests_total',
    'counter',
    'HTTP requests answered.',
    http.entries().map((e) => [{ method: e.method, route: e.route, status: e.status }, e.n]),
  );
  metric(
    'halpi_face_errors_total',
    'counter',
    'Client connection failures contained in a face (NUT, listeners).',
    faceErrors.entries().map((e) => [{ face: e.face, kind: e.kind }, e.n]),
  );
  metric('halpi_flash_in_progress', 'gauge', 'A firmware update is running.', [[{}, Number(engine.flashInProgress)]]);
  metric('halpi_start_time_seconds', 'gauge', 'Unix time the daemon started.', [[{}, engine.startedAtWall / 1000]]);
  const faces = info.faces ?? [];
  metric(
    'halpi_face_up',
    'gauge',
    'An optional face (web listener, NUT server) is listening.',
    faces.map((f) => [{ face: f.face, address: f.address }, Number(f.up)]),
  );
  metric(
    'halpi_face_error_info',
    'gauge',
    'Why a face is down (its last start error).',
    faces.filter((f) => !f.up && f.error !== null).map((f) => [{ face: f.face, error: f.error! }, 1]),
  );
  const conns = info.connections ?? [];
  metric(
    'halpi_connections_open',
    'gauge',
    'Open client connections per listener.',
    conns.map((c) => [{ listener: c.listener }, c.open]),
  );
  metric(
    'halpi_connections_dropped_total',
    'counter',
    "Idle connections dropped to stay within the listener's limit.",
    conns.map((c) => [{ listener: c.listener }, c.dropped]),
  );
  metric('halpi_info', 'gauge', 'Daemon and controller identity.', [
    [
      {
        daemon_version: info.version,
        firmware_version: s.firmwareVersion ?? STATUS_FALLBACK.firmwareVersion,
        hardware_version: s.hardwareVersion ?? STATUS_FALLBACK.hardwareVersion,
        device_id: s.deviceId ?? STATUS_FALLBACK.deviceId,
        backend: engine.backend,
        api: String(info.dialect),
      },
      1,
    ],
  ]);
  return `${out.join('\n')}\n`;
}
