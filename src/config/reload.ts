import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/log.js';
import type { CoreEvents } from '../release/events.js';
import { ConfigError, readPolicyBytes, type Config } from './load.js';
import { fixedUntilRestart, summarizePolicyChange } from './policy-diff.js';

export type ReloadTrigger = 'file-change' | 'SIGHUP';

/** The policy in force and, when the last reload was refused, why: what `/readyz` reports. */
export interface PolicyStatus {
  file: string;
  sha256: string;
  loadedAt: string;
  /** The last reload, when it was refused (cleared once a valid file is in place again). */
  rejected?: { sha256: string | null; at: string; trigger: ReloadTrigger; problems: string[] } | undefined;
}

export type ReloadOutcome =
  | { outcome: 'unchanged'; sha256: string }
  | { outcome: 'changed'; sha256: string; previousSha256: string; changes: string[] }
  | { outcome: 'rejected'; sha256: string | null; problems: string[]; repeated: boolean };

/** What the reloader needs of the release core: the policy in force, the way to replace it, the audit. */
export interface PolicyHolder {
  readonly config: Config;
  replaceConfig(next: Config): void;
  readonly audit: AuditLog;
  readonly events: CoreEvents;
}

export interface PolicyReloaderOptions {
  holder: PolicyHolder;
  /** Validates the file's bytes completely (the same schema and checks as at start); throws ConfigError. */
  load: (bytes: Buffer | null) => Config;
  log: Logger;
  /** Quiet time after a change before the file is read: editors write in several steps. */
  debounceMs?: number;
  /** The poll fallback (fs.watch misses changes on some filesystems, and across some renames). */
  pollMs?: number;
  now?: () => Date;
}

/**
 * Keeps `serve`'s policy equal to the projects file: reloads it when it changes (fs.watch on its
 * directory, since editors replace files by rename, plus a poll) and on SIGHUP. The new file is
 * validated completely before anything changes; an invalid one is refused and the running policy
 * stays (logged, audited `config-rejected`, reported by /readyz, announced once per content). A valid
 * one replaces the old in one step and is audited `config-changed` with its sha256 and what changed.
 */
export class PolicyReloader {
  private watcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private lastStat = '';
  private state: PolicyStatus;
  private readonly now: () => Date;

  constructor(private readonly options: PolicyReloaderOptions) {
    this.now = options.now ?? (() => new Date());
    const c = options.holder.config;
    this.state = { file: c.configFile, sha256: c.policySha256, loadedAt: this.now().toISOString() };
  }

  get status(): PolicyStatus {
    return this.state;
  }

  start(): this {
    const file = this.state.file;
    const base = path.basename(file);
    try {
      this.watcher = watch(path.dirname(file), { persistent: false }, (_event, name) => {
        if (name === null || name === base) this.schedule();
      });
      this.watcher.on('error', (err) =>
        this.options.log.warn({ err: err.message }, 'watching the projects file failed; polling it instead'),
      );
    } catch (err) {
      this.options.log.warn({ err: (err as Error).message, file }, 'cannot watch the projects file; polling it instead');
    }
    void this.statKey().then((key) => (this.lastStat = key));
    this.pollTimer = setInterval(() => {
      void this.statKey().then((key) => {
        if (key !== this.lastStat) {
          this.lastStat = key;
          this.schedule();
        }
      });
    }, this.options.pollMs ?? 1000);
    this.pollTimer.unref();
    return this;
  }

  stop(): void {
    this.watcher?.close();
    clearInterval(this.pollTimer);
    clearTimeout(this.debounce);
    this.watcher = undefined;
  }

  private schedule(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.reload('file-change');
    }, this.options.debounceMs ?? 250);
    this.debounce.unref();
  }

  private async statKey(): Promise<string> {
    const s = await stat(this.state.file).catch(() => undefined);
    return s ? `${s.ino}:${s.size}:${s.mtimeMs}` : 'missing';
  }

  /** Reads, validates and (when valid and different) puts the projects file in place. Never throws. */
  reload(trigger: ReloadTrigger): ReloadOutcome {
    const { holder, log } = this.options;
    const file = this.state.file;
    const readProblems: string[] = [];
    const bytes = readPolicyBytes(file, readProblems);
    const sha256 = bytes ? createHash('sha256').update(bytes).digest('hex') : null;
    if (sha256 === this.state.sha256) {
      // Back to the policy in force (an edit undone): nothing to change, and nothing refused any more.
      if (this.state.rejected) log.info({ sha256 }, 'the projects file is back to the policy in force');
      this.state = { ...this.state, rejected: undefined };
      if (trigger === 'SIGHUP') log.info({ file, sha256 }, 'SIGHUP: the projects file is unchanged');
      return { outcome: 'unchanged', sha256 };
    }
    let next: Config;
    try {
      if (bytes === undefined) throw new ConfigError(readProblems);
      next = this.options.load(bytes);
      const fixed = fixedUntilRestart(holder.config, next);
      if (fixed.length > 0) throw new ConfigError(fixed);
    } catch (thrown) {
      const problems = thrown instanceof ConfigError ? thrown.problems : [(thrown as Error).message];
      return this.rejected(trigger, sha256, problems);
    }
    const previous = holder.config;
    const changes = summarizePolicyChange(previous, next);
    holder.replaceConfig(next);
    this.state = { file, sha256: next.policySha256, loadedAt: this.now().toISOString() };
    const entry = holder.audit.append({
      type: 'config-changed',
      actor: { via: 'release-bot' },
      data: { file, sha256: next.policySha256, previousSha256: previous.policySha256, trigger, changes },
    });
    log.info(
      { file, sha256: next.policySha256, previousSha256: previous.policySha256, trigger, changes, auditId: entry.id },
      'projects file reloaded: the new policy applies to releases that start from now on',
    );
    holder.events.emit('policy-changed', {
      file,
      sha256: next.policySha256,
      previousSha256: previous.policySha256,
      trigger,
      changes,
      auditId: entry.id,
    });
    return { outcome: 'changed', sha256: next.policySha256, previousSha256: previous.policySha256, changes };
  }

  private rejected(trigger: ReloadTrigger, sha256: string | null, problems: string[]): ReloadOutcome {
    const { holder, log } = this.options;
    const file = this.state.file;
    const repeated = this.state.rejected !== undefined && this.state.rejected.sha256 === sha256;
    if (repeated) {
      // The same refused content again (a poll and a watch event, a second SIGHUP): reported once.
      log.warn({ file, sha256, trigger, problems }, 'the projects file is still invalid; the running policy stays');
      return { outcome: 'rejected', sha256, problems, repeated };
    }
    this.state = { ...this.state, rejected: { sha256, at: this.now().toISOString(), trigger, problems } };
    const entry = holder.audit.append({
      type: 'config-rejected',
      actor: { via: 'release-bot' },
      data: { file, sha256, runningSha256: this.state.sha256, trigger, problems },
    });
    log.error(
      { file, sha256, runningSha256: this.state.sha256, trigger, problems, auditId: entry.id },
      'projects file refused: the running policy stays in force',
    );
    holder.events.emit('policy-rejected', { file, sha256, runningSha256: this.state.sha256, trigger, problems, auditId: entry.id });
    return { outcome: 'rejected', sha256, problems, repeated };
  }
}
