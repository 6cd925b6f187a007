// Failed NUT logins, rate-limited for the whole server (docs/nut.md): a token bucket of
// AUTH_BURST failures refilled one per AUTH_REFILL_MS. While it is empty, credentials are refused
// without being checked, so that guessing gains nothing from more connections; a primary already
// granted keeps its rights. Each failure is logged while the budget lasts, then one line says the
// lock-out began, so a flood cannot flood the log.

import type { Clock } from '../clock.js';

export const AUTH_BURST = 10;
export const AUTH_REFILL_MS = 6_000;

export class AuthBudget {
  private tokens = AUTH_BURST;
  private at: number;
  private lockLogged = false;

  constructor(private readonly clock: Pick<Clock, 'now'>) {
    this.at = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(AUTH_BURST, this.tokens + (now - this.at) / AUTH_REFILL_MS);
    this.at = now;
    if (this.tokens >= AUTH_BURST) this.lockLogged = false; // one lock-out line per attack, not per refill
  }

  /** No failure left in the budget: refuse credentials unchecked. */
  locked(): boolean {
    this.refill();
    return this.tokens < 1;
  }

  /** Note a failure; returns the line to log, or null to stay quiet. */
  fail(user: string, address: string): string | null {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return `NUT login refused: user ${JSON.stringify(user)} from ${address}`;
    }
    if (this.lockLogged) return null;
    this.lockLogged = true;
    return `NUT logins refused for a while: more than ${AUTH_BURST} failed (one more allowed every ${AUTH_REFILL_MS / 1000} s)`;
  }
}
