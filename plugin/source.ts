// Where the plugin's data comes from: a running halpid (client mode) or the embedded engine
// (engine and simulator modes). Both speak in the same terms, so the publisher and the PUT
// handlers do not care which one runs.

import type { ConfigKey } from '../engine/device.js';
import type { Model, SupplyModel } from './paths.js';

export type Mode = 'client' | 'engine' | 'simulator';

export type BlackoutNote = { phase: 'start'; time_limit?: number } | { phase: 'end' } | { phase: 'shutdown' };

export interface SourceSink {
  /** A successful poll; `Model` fields not given keep their last value. */
  snapshot(values: Model): void;
  /** A discrete change between polls (USB, states, configuration). */
  change(values: Model): void;
  blackout(note: BlackoutNote): void;
  /** The supercap's charge, runtime and time to shutdown from halpid's `supply` event (client mode; the engine puts them in its snapshots). */
  supply(s: SupplyModel): void;
  poweroffFailed(reason: string): void;
  /** A poll or the connection failed; the text says why (for the stale message). */
  failure(reason: string): void;
  /** The controller stopped answering on its bus, or answers again (docs/blackout.md). */
  controller(note: ControllerNote): void;
}

export interface ControllerNote {
  reachable: boolean;
  /** Unix ms at which its watchdog will power-cycle the computer, or null. */
  powerCycleAt: number | null;
  error?: string;
}

/** The result of a write that did not succeed, as the PUT result (docs/signalk.md). */
export class ActionError extends Error {
  override name = 'ActionError';
  constructor(
    readonly statusCode: 400 | 502 | 503 | 504,
    message: string,
  ) {
    super(message);
  }
}

export type StandbyRequest = { delay: number } | { datetime: string };

export interface Source {
  readonly mode: Mode;
  /** The status line while data flows. */
  statusText(): string;
  /** The connection notification's message while data flows. */
  connectedText(): string;
  /** The connection notification's message when data is stale. */
  staleText(reason: string): string;
  start(sink: SourceSink): void;
  /** Settles in-flight work; idempotent. */
  stop(): Promise<void>;
  setUsb(port: number, on: boolean): Promise<void>;
  /** `value` in API units: seconds, volts, the brightness as an integer 0–255, a boolean. */
  setConfig(key: ConfigKey, value: number | boolean): Promise<void>;
  shutdown(): Promise<void>;
  standby(request: StandbyRequest): Promise<void>;
  /** Read again and report through the sink (after a write). */
  refresh(): Promise<void>;
}
