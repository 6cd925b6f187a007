// halpid's operational log (docs/configuration.md): journald priority prefixes when systemd
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

/**
 * A line writer that never throws and never lets the stream's error escape: when the reader goes
 * away (`halpid | head`, a journald restart) writes fail with EPIPE, and logging must not take
 * the daemon down. Once the stream has failed, lines to it are dropped.
 */
export function safeWriter(stream: NodeJS.WritableStream): (line: string) => void {
  let broken = false;
  stream.on('error', () => {
    broken = true;
  });
  return (line: string) => {
    if (broken) return;
    try {
      stream.write(`${line}\n`);
    } catch {
      broken = true;
    }
  };
}

export function createLogger(env: NodeJS.ProcessEnv = process.env, sink?: LogSink): Logger {
  const journal = Boolean(env.JOURNAL_STREAM);
  const threshold = RANK[(env.HALPID_LOG_LEVEL as Level) in RANK ? (env.HALPID_LOG_LEVEL as Level) : 'info'];
  const out = sink ?? { out: safeWriter(process.stdout), err: safeWriter(process.stderr) };
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
