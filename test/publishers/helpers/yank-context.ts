import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Redactor } from '../../../src/redact.js';
import type { YankContext } from '../../../src/publishing/types.js';

export interface TestYankContext extends YankContext {
  /** Everything logged through ctx.log, raw (before any sink could redact it). */
  logLines: string[];
  progressLines: string[];
}

/**
 * A YankContext for calling a destination's `yank` directly, as the yank flow will: a private tmpDir
 * under `root`, every credential registered for redaction. `published` (and `previous`) are what the
 * destination's own publish returned for that version; pass them in `overrides`.
 */
export function yankContext(root: string, overrides: Partial<YankContext> & Pick<YankContext, 'published'>): TestYankContext {
  const tmpDir = path.join(root, 'tmp');
  mkdirSync(tmpDir, { recursive: true, mode: 0o700 });
  const redactor = new Redactor();
  for (const value of Object.values(overrides.credentials ?? {})) redactor.add(value);
  const logLines: string[] = [];
  const progressLines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });
  return {
    project: 'conjur-cli',
    version: overrides.published.version,
    yankId: 'yank_test',
    reason: 'breaks login on Windows (#123)',
    dryRun: false,
    credentials: {},
    redact: (t) => redactor.redact(t),
    log: pino({ level: 'debug' }, sink),
    signal: new AbortController().signal,
    tmpDir,
    progress: (m) => progressLines.push(m),
    ...overrides,
    logLines,
    progressLines,
  };
}

/** Every text a run left behind: the error with its causes and details, logs, progress, the result. */
export function everything(ctx: TestYankContext, ...more: unknown[]): string {
  const parts = [...ctx.logLines, ...ctx.progressLines];
  for (const item of more) {
    for (let e = item; e; e = (e as { cause?: unknown }).cause) {
      parts.push(String(e), (e as Error).stack ?? '', JSON.stringify((e as { details?: unknown }).details ?? {}), JSON.stringify(e));
      if (!(e instanceof Error)) break;
    }
  }
  return parts.join('\n');
}
