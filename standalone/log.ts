// halpid's operational log (spec/daemon.md §9.1): journald priority prefixes when systemd
// connected the output to the journal, timestamped lines otherwise.

import type { Logger } from '../engine/log.js';

type Level = 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { info: 0, warn: 1, error: 2 };
const PRIORITY: Record<Level, string> = { info: '<6>', warn: '<4>', error: '<3>' };
const LABEL: Record<Level, string> = { info: 'INFO ', warn: 'WARN ', error: 'ERROR' };

export interface LogSink {
  out: (line: string) => void;
  err: (line: string) => void;
}

export function createLogger(env: NodeJS.ProcessEnv = process.env, sink?: LogSink): Logger {
  const journal = Boolean(env.JOURNAL_STREAM);
  const threshold = RANK[(env.HALPID_LOG_LEVEL as Level) in RANK ? (env.HALPID_LOG_LEVEL as Level) : 'info'];
  const out = sink ?? {
    out: (line: string) => process.stdout.write(`${line}\n`),
    err: (line: string) => process.stderr.write(`${line}\n`),
  };
  const write = (level: Level, message: string): void => {
    if (RANK[level] < threshold) return;
    const line = journal ? `${PRIORITY[level]}${message}` : `${new Date().toISOString()} ${LABEL[level]} ${message}`;
    if (level === 'error') out.err(line);
    else out.out(line);
  };
  return {
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
  };
}
