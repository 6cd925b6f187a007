// The product version: reported by `halpid --version`, `halpi version`, `/version` and
// `daemon_version`. Higher than halpid 5.0.2, which this package replaces. Kept equal to
// package.json's version by a test.
export const VERSION = '5.1.0';
