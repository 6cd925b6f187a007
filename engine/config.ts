// The daemon's configuration files (docs/configuration.md): YAML read with line numbers so that
// every message names file, line and key, with the rules of engine/config-keys.ts. Loaded only
// when there is a file to read or settings to print (--config-check); this module also offers the
// whole configuration API in one place (loadConfig here reads files without further ado).

import { isMap, isScalar, LineCounter, parseDocument, stringify, type Pair } from 'yaml';
import {
  canonicalKey,
  checkConfigValue,
  CONFIG_KEYS,
  expectedOf,
  loadConfig as loadWith,
  redacted,
  type ConfigKey,
  type DaemonConfig,
  type FileResult,
  type LoadedConfig,
} from './config-keys.js';

export {
  canonicalKey,
  changedKeys,
  CONFIG_KEYS,
  DEFAULT_CONFIG_FILE,
  defaultConfig,
  parseFlagValue,
  readConfig,
  redacted,
  reloadKind,
  UsageError,
  type ConfigKey,
  type DaemonConfig,
  type FileResult,
  type LoadedConfig,
} from './config-keys.js';

const got = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/** Parse one file's text; every problem is reported, each naming file, line and key. */
export function parseConfigText(text: string, file: string): FileResult {
  const out: FileResult = { values: {}, errors: [], warnings: [] };
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const pos = lines.linePos(err.pos[0]);
      const message = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      out.errors.push(`halpid: ${file}:${pos.line}:${pos.col}: YAML syntax error: ${message}`);
    }
    return out;
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return out;
  if (!isMap(doc.contents)) {
    out.errors.push(`halpid: ${file}: expected a mapping of settings`);
    return out;
  }
  const seen = new Map<string, { spelled: string; line: number }>();
  for (const pair of doc.contents.items as Pair[]) {
    const keyNode = pair.key;
    const spelled = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
    const line = lines.linePos(isScalar(keyNode) && keyNode.range ? keyNode.range[0] : 0).line;
    const key = canonicalKey(spelled);
    const first = seen.get(key);
    if (first) {
      out.errors.push(`halpid: ${file}:${line}: ${spelled}: duplicate of ${first.spelled} on line ${first.line}`);
      continue;
    }
    seen.set(key, { spelled, line });
    if (!(CONFIG_KEYS as string[]).includes(key)) {
      out.warnings.push(`halpid: ${file}:${line}: warning: unknown key ${JSON.stringify(spelled)} ignored`);
      continue;
    }
    const valueNode = pair.value;
    if (valueNode !== null && !isScalar(valueNode)) {
      out.errors.push(
        `halpid: ${file}:${line}: ${spelled}: expected ${expectedOf(key as ConfigKey)}, got a ${isMap(valueNode) ? 'mapping' : 'list'}`,
      );
      continue;
    }
    const raw = valueNode === null ? null : valueNode.value;
    if (raw === null) continue; // `socket:` means "use the default"
    const result = checkConfigValue(key as ConfigKey, raw);
    if (result.ok) {
      (out.values as Record<string, unknown>)[key] = result.value;
      (out.lines ??= {})[key as ConfigKey] = line;
    } else out.errors.push(`halpid: ${file}:${line}: ${spelled}: expected ${result.expected}, got ${got(raw)}`);
  }
  return out;
}

/** engine/config-keys.ts's loadConfig with this module's YAML reader. */
export const loadConfig = (opts: Omit<Parameters<typeof loadWith>[0], 'parse'>): LoadedConfig =>
  loadWith({ ...opts, parse: parseConfigText });

/** The configuration as a YAML file would say it (the web token masked), for --config-check. */
export const configYaml = (c: DaemonConfig): string => stringify(redacted(c));
