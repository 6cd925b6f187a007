// Persisted controller settings (docs/controller.md): a JSON file written atomically on every
// change, or memory only. A missing or unreadable file means factory defaults plus a warning.

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface PersistedSettings {
  power_on_threshold: number;
  solo_power_off_threshold: number;
  led_brightness: number;
  auto_restart: boolean;
  solo_depleting_timeout_ms: number;
  /** Only persisted while TEST_MODE is set. */
  hardware_version: number[] | null;
}

export const FACTORY_SETTINGS: Readonly<PersistedSettings> = Object.freeze({
  power_on_threshold: Math.fround(8.0),
  solo_power_off_threshold: Math.fround(5.5),
  led_brightness: 48,
  auto_restart: true,
  solo_depleting_timeout_ms: 5000,
  hardware_version: null,
});

export class SettingsStore {
  /** The last saved values: what memory-only storage reloads. */
  private saved: PersistedSettings = { ...FACTORY_SETTINGS };

  constructor(
    private readonly file: string | undefined,
    private readonly warn: (message: string) => void = () => {},
  ) {}

  load(): PersistedSettings {
    this.saved = this.read();
    return { ...this.saved, hardware_version: this.saved.hardware_version && [...this.saved.hardware_version] };
  }

  /**
   * Persist, or throw (with a warning that names the file) and keep the previous values: the
   * caller changes its setting only once it is saved, so nothing reads back a value that a reset
   * would lose.
   */
  save(settings: PersistedSettings): void {
    const next = { ...settings };
    if (this.file) {
      const tmp = `${this.file}.${process.pid}.tmp`;
      try {
        mkdirSync(dirname(this.file), { recursive: true });
        writeFileSync(tmp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o644 });
        renameSync(tmp, this.file);
      } catch (err) {
        rmSync(tmp, { force: true });
        const message = `Cannot save simulator state file ${this.file}: ${(err as Error).message}; the setting is unchanged`;
        this.warn(message);
        throw new Error(message, { cause: err });
      }
    }
    this.saved = next;
  }

  private read(): PersistedSettings {
    if (!this.file) return this.saved;
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.warn(`Cannot read simulator state file ${this.file}: ${(err as Error).message}; using factory defaults`);
      }
      return { ...FACTORY_SETTINGS };
    }
    try {
      const data = JSON.parse(text) as Partial<PersistedSettings>;
      return {
        power_on_threshold: num(data.power_on_threshold, FACTORY_SETTINGS.power_on_threshold),
        solo_power_off_threshold: num(data.solo_power_off_threshold, FACTORY_SETTINGS.solo_power_off_threshold),
        led_brightness: num(data.led_brightness, FACTORY_SETTINGS.led_brightness) & 0xff,
        auto_restart: typeof data.auto_restart === 'boolean' ? data.auto_restart : FACTORY_SETTINGS.auto_restart,
        solo_depleting_timeout_ms:
          num(data.solo_depleting_timeout_ms, FACTORY_SETTINGS.solo_depleting_timeout_ms) >>> 0,
        hardware_version:
          Array.isArray(data.hardware_version) && data.hardware_version.length === 4
            ? data.hardware_version.map((b) => Number(b) & 0xff)
            : null,
      };
    } catch (err) {
      this.warn(`Cannot parse simulator state file ${this.file}: ${(err as Error).message}; using factory defaults`);
      return { ...FACTORY_SETTINGS };
    }
  }
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}
