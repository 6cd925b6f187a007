// Typed events the faces subscribe to (docs/api.md names them on the wire).

import { EventEmitter } from 'node:events';
import createDebug from 'debug';
import type { FlashProgress } from './dfu.js';
import type { ControllerConfig, Measurements } from './device.js';
import type { ReachabilityEvent } from './reachability.js';
import type { PowerState } from './registers.js';
import type { BlackoutEvent, DaemonState } from './supervisor.js';

export interface StateEvent {
  controller_state: PowerState | null;
  daemon_state: DaemonState;
}

export interface ShutdownEvent {
  command: string;
  kind: 'shutdown' | 'standby';
  source: 'api' | 'blackout';
  wakeup: number | null;
}

export interface UsbEvent {
  usb0: boolean;
  usb1: boolean;
  usb2: boolean;
  usb3: boolean;
}

export interface EngineEvents {
  values: [Measurements];
  state: [StateEvent];
  blackout: [BlackoutEvent];
  shutdown: [ShutdownEvent];
  config: [ControllerConfig];
  usb: [UsbEvent];
  /** `upload` is the tag the client gave its POST /flash (X-Halpi-Upload), when it gave one. */
  flash: [FlashProgress & { upload?: string }];
  error: [{ message: string }];
  /** The controller stopped answering, or answers again (docs/blackout.md). */
  controller: [ReachabilityEvent];
}

const debug = createDebug('halpid:engine');

/** An EventEmitter whose event names and payloads are checked by the compiler. */
export class TypedEmitter<E extends { [K in keyof E]: unknown[] }> {
  private readonly ee = new EventEmitter();

  constructor() {
    this.ee.setMaxListeners(0);
  }

  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): () => void {
    this.ee.on(event, listener as (...args: unknown[]) => void);
    return () => this.ee.off(event, listener as (...args: unknown[]) => void);
  }

  emit<K extends keyof E & string>(event: K, ...args: E[K]): void {
    // A failing subscriber must not break the engine (or the tick that published the event).
    for (const listener of this.ee.listeners(event)) {
      try {
        (listener as (...a: E[K]) => void)(...args);
      } catch (err) {
        debug('listener of %s failed: %s', event, (err as Error).stack);
      }
    }
  }

  listenerCount<K extends keyof E & string>(event: K): number {
    return this.ee.listenerCount(event);
  }
}
