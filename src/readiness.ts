import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from './config/load.js';
import type { PolicyStatus } from './config/reload.js';
import { sentinelFix } from './conjur/client.js';
import type { Conjur, SentinelState } from './conjur/types.js';
import { ErrorCode } from './errors.js';
import { DATABASE_FILE, ping, type Db } from './store/db.js';

export interface CheckResult {
  ok: boolean;
  detail: string;
}

export interface ReadinessCheck {
  name: string;
  run(): Promise<CheckResult>;
  /** How long a result is reused: network checks are cached so that a probe cannot hammer Conjur or Slack. */
  cacheMs?: number;
}

export interface ReadinessReport {
  ready: boolean;
  /** The names of the checks that failed. */
  failing: string[];
  checks: Record<string, CheckResult & { checkedAt: string }>;
}

const NETWORK_CACHE_MS = 5_000;
const CHECK_TIMEOUT_MS = 5_000;

/**
 * `GET /readyz`: can the bot do its job right now. Liveness (`/healthz`) only says the process
 * answers; readiness also asks Conjur, Slack, the database and the policy. Each check has a timeout,
 * and concurrent probes share one run of a check.
 */
export class Readiness {
  private readonly cache = new Map<string, { at: number; result: Promise<CheckResult & { checkedAt: string }> }>();

  constructor(
    private readonly checks: readonly ReadinessCheck[],
    private readonly redact: (text: string) => string = (t) => t,
    private readonly now: () => number = Date.now,
  ) {}

  async report(): Promise<ReadinessReport> {
    const results = await Promise.all(this.checks.map(async (c) => [c.name, await this.run(c)] as const));
    const failing = results.filter(([, r]) => !r.ok).map(([name]) => name);
    return { ready: failing.length === 0, failing, checks: Object.fromEntries(results) };
  }

  private run(check: ReadinessCheck): Promise<CheckResult & { checkedAt: string }> {
    const cached = this.cache.get(check.name);
    if (cached && this.now() - cached.at < (check.cacheMs ?? 0)) return cached.result;
    const result = withTimeout(check.run(), CHECK_TIMEOUT_MS)
      .catch((err: unknown): CheckResult => ({ ok: false, detail: (err as Error).message }))
      .then((r) => ({ ok: r.ok, detail: this.redact(r.detail), checkedAt: new Date(this.now()).toISOString() }));
    this.cache.set(check.name, { at: this.now(), result });
    return result;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Conjur answers and knows the bot as the identity it is configured with. */
export function conjurCheck(conjur: Conjur, login: string): ReadinessCheck {
  return {
    name: 'conjur',
    cacheMs: NETWORK_CACHE_MS,
    async run() {
      const me = await conjur.whoami();
      return me.username === login
        ? { ok: true, detail: `authenticated as ${me.username}` }
        : { ok: false, detail: `Conjur says the bot is ${me.username}, the configuration says ${login}` };
    },
  };
}

/** Slack's `auth.test` accepts the bot token. */
export function slackCheck(apiUrl: string | undefined, token: string): ReadinessCheck {
  const base = apiUrl ? (apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`) : 'https://slack.com/api/';
  return {
    name: 'slack',
    cacheMs: NETWORK_CACHE_MS,
    async run() {
      const res = await fetch(`${base}auth.test`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
      });
      const body = (await res.json().catch(() => ({}))) as { ok?: boolean; error?: string; team?: string; user?: string };
      return body.ok === true
        ? { ok: true, detail: `auth.test ok (${body.user ?? '?'} in ${body.team ?? '?'})` }
        : { ok: false, detail: `auth.test failed: ${body.error ?? `HTTP ${res.status}`}` };
    },
  };
}

/**
 * The database is open and writable. A write transaction would wait up to the busy timeout (10 s)
 * behind a CLI holding the lock, blocking the event loop, so this checks the connection and the
 * file modes instead.
 */
export function databaseCheck(db: Db, dataDir: string): ReadinessCheck {
  return {
    name: 'database',
    async run() {
      if (!db.open) return { ok: false, detail: 'the database is closed' };
      if (db.readonly) return { ok: false, detail: 'the database is open read-only' };
      ping(db);
      await access(dataDir, constants.W_OK);
      await access(path.join(dataDir, DATABASE_FILE), constants.W_OK);
      return { ok: true, detail: `${path.join(dataDir, DATABASE_FILE)} writable` };
    },
  };
}

/** A policy is loaded, and the last reload of the projects file was not refused. */
export function policyCheck(status: () => PolicyStatus): ReadinessCheck {
  return {
    name: 'policy',
    async run() {
      const s = status();
      const loaded = `${s.file} sha256 ${s.sha256} in force since ${s.loadedAt}`;
      if (!s.rejected) return { ok: true, detail: loaded };
      return {
        ok: false,
        detail: `the last reload (${s.rejected.trigger}, ${s.rejected.at}) was refused, the previous policy stays: ${s.rejected.problems.join('; ')} — ${loaded}`,
      };
    },
  };
}

/**
 * Every Conjur group the policy asks about, with who uses it: each project's authorized_group and
 * approver_group (`project conjur-cli`), the audit_group.
 */
export function membershipGroups(config: Pick<Config, 'projects' | 'auditGroup'>): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  const use = (group: string, by: string) => {
    const users = groups.get(group) ?? [];
    if (!users.includes(by)) users.push(by);
    groups.set(group, users);
  };
  for (const p of config.projects.values()) {
    use(p.authorized_group, `project ${p.name}`);
    use(p.approver_group, `project ${p.name}`);
  }
  if (config.auditGroup) use(config.auditGroup, 'audit_group');
  return new Map([...groups].sort(([a], [b]) => a.localeCompare(b)));
}

/** A group's sentinel state in the operator's words: what is wrong and the policy to add. */
export function sentinelProblem(group: string, users: readonly string[], state: Exclude<SentinelState, 'ok'>, botLogin: string): string {
  const what =
    state === 'missing'
      ? `no membership sentinel !webservice ${group} visible to ${botLogin}`
      : `the membership sentinel !webservice ${group} does not permit the group release`;
  return `${what} (${users.join(', ')}): ${sentinelFix(group, botLogin)}`;
}

/**
 * Each group the policy in force asks about has its membership sentinel (deploy/conjur/policy.yml):
 * without one, only people the bot may read can be found members, and everyone else is refused as
 * "membership undetermined". Cached longer than the other network checks: one request per group.
 */
export function membershipCheck(conjur: Conjur, config: () => Pick<Config, 'projects' | 'auditGroup'>, botLogin: string): ReadinessCheck {
  return {
    name: 'membership',
    cacheMs: 30_000,
    async run() {
      const groups = membershipGroups(config());
      if (!conjur.membershipSentinel) return { ok: true, detail: 'not checked' };
      const ask = conjur.membershipSentinel.bind(conjur);
      const problems: string[] = [];
      try {
        // All at once: the check has one timeout for every group.
        const states = await Promise.all([...groups.keys()].map((group) => ask(group)));
        [...groups].forEach(([group, users], i) => {
          const state = states[i] ?? 'missing';
          if (state !== 'ok') problems.push(sentinelProblem(group, users, state, botLogin));
        });
      } catch (err) {
        // Conjur not answering is the conjur check's to report; this one is about policy.
        const code = (err as { code?: unknown }).code;
        if (code === ErrorCode.ConjurUnavailable || code === ErrorCode.ConjurAuthFailed || code === ErrorCode.Timeout)
          return { ok: true, detail: 'not checked: Conjur did not answer' };
        throw err;
      }
      return problems.length === 0
        ? { ok: true, detail: `membership sentinels in place for ${groups.size} group(s)` }
        : { ok: false, detail: problems.join('; ') };
    },
  };
}
