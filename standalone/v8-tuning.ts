// A lower interrupt budget lets V8 optimise the 100 ms tick: at ten ticks a second its default
// leaves the tick's code in the baseline tier for good (docs/performance.md, "Idle"). Set once the
// daemon runs, not on the bin's line: there it also makes V8 optimise the start's run-once code,
// 8-15 ms more CPU before the socket answers. V8 reads the budget whenever it resets a
// function's, so a value set now applies to the tick from its next tier-up check.

const BUDGET = 8192;

/**
 * After `delayMs` (unref'd: never keeps the process alive), run `before` (what must happen under
 * the start's flags: a code cache is tied to them), then lower V8's interrupt budget.
 */
export function tuneForTicks(before: () => void = () => {}, delayMs = 1000): void {
  const timer = setTimeout(() => {
    try {
      before();
    } catch {
      // a failed cache write costs the next start some compiling, nothing else
    }
    import('node:v8').then(
      (v8) => v8.setFlagsFromString(`--interrupt-budget=${BUDGET}`),
      () => {}, // only a tuning: the daemon runs as well without it
    );
  }, delayMs);
  timer.unref();
}
