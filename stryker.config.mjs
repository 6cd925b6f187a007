// Mutation testing of the safety-critical code: `npm run mutate` (not in CI). Each group is one
// source file with the unit tests that exercise it; `MUTATE=supervisor,dfu npm run mutate` runs a
// subset. The tests run under tsx (esbuild), three times quicker to start than tap's ts-node loader.
const GROUPS = {
  supervisor: ['engine/supervisor.ts', [
    'test/engine/supervisor-readings.test.ts', 'test/engine/supervisor.test.ts', 'test/engine/blackout-faults.test.ts',
  ]],
  device: ['engine/device.ts', ['test/engine/device.test.ts', 'test/engine/engine.test.ts']],
  dfu: ['engine/dfu.ts', ['test/engine/simulator/dfu.test.ts', 'test/engine/engine.test.ts']],
  registers: ['engine/registers.ts', ['test/engine/registers.test.ts', 'test/engine/device.test.ts']],
  socket: ['standalone/socket.ts', ['test/standalone/socket.test.ts']],
  web: ['standalone/web.ts', ['test/standalone/web.test.ts']],
};
const chosen = (process.env.MUTATE || Object.keys(GROUPS).join(',')).split(',').map((g) => g.trim());
for (const g of chosen) if (!GROUPS[g]) throw new Error(`MUTATE: unknown group ${g} (one of ${Object.keys(GROUPS).join(', ')})`);
const name = chosen.join('-');

export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  mutate: chosen.map((g) => GROUPS[g][0]),
  tap: {
    testFiles: [...new Set(chosen.flatMap((g) => GROUPS[g][1]))],
    nodeArgs: ['--import=tsx'],
    forceBail: true,
  },
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 20000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  incrementalFile: `reports/mutation/${name}.incremental.json`,
  thresholds: { high: 95, low: 90, break: null },
  ignorePatterns: ['dist', 'coverage', '.tap', 'reports', 'run', 'build'],
  tempDirName: '.stryker-tmp',
};
