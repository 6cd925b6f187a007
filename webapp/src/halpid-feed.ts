// halpid's event stream (api/events) as PanelData patches and connection states: the deadline of
// the shutdown from the daemon's counts, a panel opened mid-blackout or after the shutdown began,
// and values that stop coming (the controller silent). Pure, on an injected clock, so node tests
// drive it (test/webapp/src/halpid-feed.test.ts); halpid.ts wires it to the EventSource.

import { steadyDeadline, type PanelData, type Status, type UsbPorts } from './model.js';

export type Json = Record<string, unknown>;

/** Values older than this: the controller is silent, and what they said is no longer shown. */
export const STALE_MS = 5000;

const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const bool = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null);

export function fromValues(v: Json): Partial<PanelData> {
  return {
    V_in: num(v.V_in),
    V_cap: num(v.V_cap ?? v.V_supercap),
    I_in: num(v.I_in),
    T_mcu: num(v.T_mcu),
    T_pcb: num(v.T_pcb),
    state: str(v.state),
    watchdogTimeout: num(v.watchdog_timeout),
    watchdogEnabled: bool(v.watchdog_enabled),
    watchdogElapsed: num(v.watchdog_elapsed),
    output5v: bool(v['5v_output_enabled']),
    daemonVersion: str(v.daemon_version),
    hardwareVersion: str(v.hardware_version),
    firmwareVersion: str(v.firmware_version),
    deviceId: str(v.device_id),
  };
}

export const usbOf = (u: Json): UsbPorts => [u.usb0 === true, u.usb1 === true, u.usb2 === true, u.usb3 === true];

/** A change of the connection badge, with the patch that goes with it. */
export interface Step {
  patch: Partial<PanelData>;
  status?: Status;
}

export class HalpidFeed {
  /** halpid's --blackout-time-limit, as its `hello` says (5 s by default). */
  private timeLimit = 5;
  private deadline: number | null = null;
  /** When values last came; from the start, so a panel opened while the controller is silent says so too. */
  private lastValues: number;
  /** Values stopped coming: what was cleared must be read again when they return. */
  private stale = false;
  /**
   * The settings and USB ports must be read (again) with the next values: at first, and after the
   * controller was silent — while it is, GET /config answers its fallback zeros (docs/api.md), and
   * the USB ports come only on change.
   */
  private reread = true;
  private connectedText = 'Connected to halpid';

  constructor(private readonly now: () => number) {
    this.lastValues = now();
  }

  /** A reading begun for the last `values` is out of date: the controller went silent since. */
  get rereadPending(): boolean {
    return this.reread;
  }

  private setDeadline(next: number | null): number | null {
    return (this.deadline = steadyDeadline(this.deadline, next));
  }

  /** The stream's first event: the daemon's state, and how far into a blackout it is. */
  hello(d: Json): Step {
    this.timeLimit = num(d.blackout_time_limit) ?? this.timeLimit;
    const elapsed = num(d.blackout_elapsed);
    this.connectedText = `Connected to halpid ${str(d.daemon_version) ?? ''}`.trim();
    return {
      patch: {
        daemonState: str(d.daemon_state),
        daemonVersion: str(d.daemon_version),
        simulator: d.backend === 'simulator',
        voltageLimit: num(d.blackout_voltage_limit),
        shutdownAt: this.setDeadline(elapsed === null ? null : this.now() + (this.timeLimit - elapsed) * 1000),
      },
      status: { connected: true, message: this.connectedText },
    };
  }

  /** Values: the controller answers. `reread`: read the settings and USB ports now. */
  values(d: Json): Step & { reread: boolean } {
    this.lastValues = this.now();
    const step: Step & { reread: boolean } = { patch: fromValues(d), reread: this.reread };
    if (this.stale) {
      this.stale = false;
      step.status = { connected: true, message: this.connectedText };
    }
    this.reread = false;
    return step;
  }

  /** The supercap, every second: the deadline from the daemon's own count (the timer between is local). */
  supply(d: Json): Partial<PanelData> {
    const left = num(d.shutdown_in);
    return {
      supply: { charge: num(d.charge), runtime: num(d.runtime), power: num(d.power), current: num(d.current) },
      ...(typeof d.shutting_down === 'boolean' ? { shuttingDown: d.shutting_down } : {}),
      shutdownAt: this.setDeadline(left === null ? null : this.now() + left * 1000),
    };
  }

  state(d: Json): Partial<PanelData> {
    const daemon = str(d.daemon_state);
    return {
      daemonState: daemon,
      state: str(d.controller_state),
      ...(daemon === 'OK' ? { shuttingDown: false } : {}),
    };
  }

  blackout(d: Json): Partial<PanelData> {
    if (d.phase === 'start')
      return {
        shutdownAt: this.setDeadline(this.now() + (num(d.time_limit) ?? this.timeLimit) * 1000),
        shuttingDown: false,
      };
    return { shutdownAt: this.setDeadline(null), shuttingDown: d.phase === 'shutdown' };
  }

  controller(d: Json): Partial<PanelData> {
    const down = d.reachable === false;
    if (down) this.reread = true;
    return { controllerDown: down ? { powerCycleAt: num(d.power_cycle_at), error: str(d.error) } : null };
  }

  /** The stream broke (the browser reconnects by itself). */
  lost(): Status {
    return { connected: false, message: 'Lost the connection to halpid; reconnecting…' };
  }

  /** Called every second: the controller can stop answering while the stream stays open. */
  tick(): Step | null {
    if (this.stale || this.now() - this.lastValues <= STALE_MS) return null;
    this.stale = true;
    this.reread = true;
    return {
      patch: {
        V_in: null,
        V_cap: null,
        I_in: null,
        T_mcu: null,
        T_pcb: null,
        state: null,
        usb: null,
        supply: null,
        shutdownAt: this.setDeadline(null),
      },
      status: { connected: false, message: 'No values from the controller' },
    };
  }
}
