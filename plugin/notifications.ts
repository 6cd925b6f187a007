// The plugin's own notifications (docs/signalk.md): blackout, shutdown and connection, derived
// from what is known now. Pure: the publisher decides when to send them.

export type NotificationState = 'normal' | 'alert' | 'warn' | 'alarm' | 'emergency';

export interface Notification {
  state: NotificationState;
  method: Array<'visual' | 'sound'>;
  message: string;
}

const normal = (message: string): Notification => ({ state: 'normal', method: [], message });

export interface BlackoutInputs {
  powerState?: string;
  daemonState?: string;
  /** The last blackout ended in a shutdown (the daemon's SHUTDOWN/DEAD then means "after a blackout"). */
  shutdownAfterBlackout: boolean;
  vCap?: number;
  /** Seconds until the shutdown, when known (engine modes, or halpid's blackout events). */
  secondsLeft?: number;
}

export function blackoutNotification(i: BlackoutInputs): Notification | null {
  if (
    i.powerState === 'BlackoutShutdown' ||
    (i.shutdownAfterBlackout && (i.daemonState === 'SHUTDOWN' || i.daemonState === 'DEAD'))
  ) {
    return {
      state: 'emergency',
      method: ['visual', 'sound'],
      message: 'HALPI2 is shutting down after input power loss',
    };
  }
  if (i.powerState === 'BlackoutSolo' || i.powerState === 'BlackoutCoOp' || i.daemonState === 'BLACKOUT') {
    const parts: string[] = [];
    if (i.vCap !== undefined) parts.push(`V_cap ${i.vCap.toFixed(2)} V`);
    if (i.secondsLeft !== undefined) parts.push(`shutdown in ${Math.max(0, Math.ceil(i.secondsLeft))} s`);
    const detail = parts.length ? ` (${parts.join(', ')})` : '';
    return {
      state: 'alarm',
      method: ['visual', 'sound'],
      message: `HALPI2 input power lost, running on supercap${detail}`,
    };
  }
  if (i.powerState === undefined && i.daemonState === undefined) return null; // nothing known yet
  return normal('HALPI2 input power OK');
}

export function shutdownNotification(i: { powerState?: string; poweroffFailure?: string }): Notification {
  if (i.poweroffFailure !== undefined) {
    return {
      state: 'emergency',
      method: ['visual', 'sound'],
      message: `HALPI2 poweroff command failed: ${i.poweroffFailure}; power will be cut within 60 s`,
    };
  }
  if (i.powerState === 'ManualShutdown')
    return { state: 'alert', method: ['visual'], message: 'HALPI2 shutdown requested' };
  if (i.powerState === 'EnteringStandby')
    return { state: 'alert', method: ['visual'], message: 'HALPI2 entering standby' };
  return normal('No HALPI2 shutdown in progress');
}

export function connectionNotification(i: {
  stale: string | null;
  connected: string;
  /** The controller does not answer on its bus: when its watchdog will power-cycle the computer. */
  controllerDown?: { powerCycleInS: number | null; error?: string } | null;
}): Notification {
  const down = i.controllerDown;
  if (down) {
    const why = down.error ? ` (${down.error})` : '';
    const next =
      down.powerCycleInS !== null
        ? `its watchdog will power-cycle the computer in about ${Math.max(0, Math.round(down.powerCycleInS))} s`
        : 'nothing will power-cycle the computer';
    return { state: 'alarm', method: ['visual', 'sound'], message: `HALPI2 controller not answering${why}: ${next}` };
  }
  if (i.stale !== null) return { state: 'alert', method: ['visual'], message: i.stale };
  return normal(i.connected);
}

export const STOPPED: Notification = normal('HALPI2 monitoring stopped');

export const sameNotification = (a: Notification | null | undefined, b: Notification | null | undefined): boolean =>
  a?.state === b?.state && a?.message === b?.message;
