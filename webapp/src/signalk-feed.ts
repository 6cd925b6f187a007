// Signal K's values under the plugin's prefix (electrical.halpi.*) and its notifications as
// PanelData: the shutdown deadline from blackout.timeToShutdown when it arrives, the supercap,
// the settings in halpid's units, the alerts most severe first, and which paths take a PUT. Pure,
// on an injected clock, so node tests drive it (test/webapp/src/signalk-feed.test.ts);
// signalk.ts fetches and streams.

import { steadyDeadline, type ControllerConfig, type PanelData, type UsbPorts } from './model.js';

const SEVERITY = ['emergency', 'alarm', 'warn', 'alert'];

export class SignalKFeed {
  private values = new Map<string, unknown>();
  private writable = new Set<string>();
  private notes = new Map<string, { state: string; message: string }>();
  private deadline: number | null = null;

  constructor(
    readonly prefix: string,
    private readonly now: () => number,
  ) {}

  /** Whether any path takes a PUT from this user. */
  get canWrite(): boolean {
    return this.writable.size > 0;
  }

  /** Whether the server takes PUT on this leaf (its meta says supportsPut). */
  canPut(leaf: string): boolean {
    return this.writable.has(`${this.prefix}.${leaf}`);
  }

  /** A path's metadata: whether it takes a PUT; the input's low-voltage zone (what the panel marks on its chart). */
  meta(path: string, meta: Record<string, unknown>): Partial<PanelData> | null {
    if (meta.supportsPut === true) this.writable.add(path);
    else if (meta.supportsPut === false) this.writable.delete(path);
    if (path === `${this.prefix}.dcInputVoltage` && Array.isArray(meta.zones)) {
      const low = (meta.zones as Array<{ lower?: number; message?: string }>).find((z) => /low/.test(z.message ?? ''));
      if (typeof low?.lower === 'number') return { voltageLimit: low.lower };
    }
    return null;
  }

  set(path: string, value: unknown): void {
    if (path.startsWith(`notifications.${this.prefix}`)) {
      const n = value as { state?: string; message?: string } | null;
      if (n && typeof n.state === 'string') this.notes.set(path, { state: n.state, message: n.message ?? '' });
      else this.notes.delete(path);
      return;
    }
    const leaf = path.slice(this.prefix.length + 1);
    this.values.set(leaf, value);
    // The deadline when the count arrives, not each time the panel is redrawn.
    if (leaf === 'blackout.timeToShutdown') {
      this.deadline = steadyDeadline(this.deadline, typeof value === 'number' ? this.now() + value * 1000 : null);
    }
  }

  /** Everything the panel shows, as the server holds it now. */
  patch(): Partial<PanelData> {
    const v = (leaf: string) => this.values.get(leaf);
    const num = (leaf: string): number | null => (typeof v(leaf) === 'number' ? (v(leaf) as number) : null);
    const str = (leaf: string): string | null => (typeof v(leaf) === 'string' ? (v(leaf) as string) : null);
    const bool = (leaf: string): boolean | null => (typeof v(leaf) === 'boolean' ? (v(leaf) as boolean) : null);
    const ports = [0, 1, 2, 3].map((n) => bool(`usb.port${n}`));
    const brightness = num('config.ledBrightness');
    const c = {
      watchdog_timeout: num('watchdog.timeout'),
      power_on_threshold: num('config.powerOnThreshold'),
      solo_power_off_threshold: num('config.soloPowerOffThreshold'),
      led_brightness: brightness === null ? null : Math.round(brightness * 255),
      auto_restart: bool('config.autoRestart'),
      solo_depleting_timeout: num('config.soloDepletingTimeout'),
    };
    const soc = num('supercap.stateOfCharge');
    const runtime = num('supercap.timeRemaining');
    const alerts = [...this.notes.values()]
      .filter((n) => SEVERITY.includes(n.state))
      .sort((a, b) => SEVERITY.indexOf(a.state) - SEVERITY.indexOf(b.state));
    return {
      V_in: num('dcInputVoltage'),
      V_cap: num('supercapVoltage'),
      I_in: num('inputCurrent'),
      T_mcu: num('mcuTemperature'),
      T_pcb: num('pcbTemperature'),
      state: str('powerState'),
      daemonState: str('daemonState'),
      watchdogTimeout: num('watchdog.timeout'),
      watchdogEnabled: bool('watchdog.enabled'),
      watchdogElapsed: num('watchdog.elapsed'),
      output5v: bool('output5v.enabled'),
      usb: ports.every((p) => p !== null) ? (ports as UsbPorts) : null,
      config: Object.values(c).every((x) => x !== null) ? (c as ControllerConfig) : null,
      daemonVersion: str('daemonVersion'),
      hardwareVersion: str('hardwareVersion'),
      firmwareVersion: str('firmwareVersion'),
      deviceId: str('deviceId'),
      simulator: str('mode') === 'simulator',
      // Held from when the count arrived; null exactly when timeToShutdown is not a number.
      shutdownAt: this.deadline,
      supply:
        soc === null && runtime === null
          ? null
          : {
              charge: soc === null ? null : soc * 100,
              runtime,
              power: num('supercap.power'),
              current: num('supercap.current'),
            },
      shuttingDown: bool('blackout.shuttingDown') === true,
      alerts,
    };
  }
}
