// Child of test/engine/commands.test.ts: fills every free file descriptor, then runs the poweroff
// command through engine/commands.ts, the source (run with tsx: no stale build, and under Stryker the
// sandbox's mutated copy) (argv: repository root, reserved fds, marker file).
// Exits 0 when the command exited 0, 3 when the failure was reported; an uncaught error would be 1.
import { openSync } from 'node:fs';

const [root, reserve, marker] = process.argv.slice(2);
const { commandActions } = await import(`${root}/engine/commands.ts`);
const out = (level) => (message) => {
  process.stdout.write(`${level} ${message}\n`);
  if (message === 'Poweroff command exited with code 0') process.exit(0);
};
const actions = commandActions({
  logger: { info: out('info'), warn: out('warn'), error: out('error') },
  reserveFds: Number(reserve),
  settings: () => ({ rtcwake: 'rtcwake', simExecuteCommands: false, poweroffTimeoutS: 15, poweroffFallback: '' }),
  onPoweroffFailure: (reason) => {
    process.stdout.write(`failed ${reason}\n`);
    process.exit(3);
  },
});
let n = 0;
try {
  for (;;) {
    openSync('/dev/null', 'r');
    n++;
  }
} catch (err) {
  process.stdout.write(`filled ${n} more descriptors, then ${err.code}\n`);
}
actions.poweroff(`touch ${marker}`);
