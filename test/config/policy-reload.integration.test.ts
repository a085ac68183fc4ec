import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { sendSlackRequest, slashCommand } from '../../dev/slack-requests.js';
import { startSlackStandIn, type RecordedSlackCall, type SlackStandIn } from '../../dev/slack-stand-in.js';
import { mirrorProject, startBotEnv, type BotEnv } from '../audit/bot-env.js';
import { repoRoot } from '../support/cli.js';
import { projectsYaml, type ProjectSpec } from '../support/projects-file.js';
import { freePort } from '../support/ports.js';
import { stopChild } from '../support/stop-child.js';

const SIGNING_SECRET = 'signing-secret-reload-test-9b1d3f5a';
const BOT_TOKEN = 'xoxb-reload-test-000000000-bot-token';
const MIRROR_TOKEN = 'mirror-token-canary-reload-2c8e4a';

async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const text = (c: RecordedSlackCall) => String(c.body.text ?? '');

interface Entry {
  seq: number;
  type: string;
  version: string | null;
  data: Record<string, unknown>;
}

/**
 * An operator edits the projects file under a running `release-bot serve` (a real process): the
 * server enforces the new policy within 2 s, as the CLI does; a broken edit is refused, leaves the
 * old policy running, is audited, posted to the channel and reported by /readyz.
 */
describe('release-bot serve reloads the projects file', () => {
  let bot: BotEnv;
  let slack: SlackStandIn;
  let serve: ChildProcess | undefined;
  let output = '';
  let base: string;
  let configFile: string;
  let projects: Record<string, ProjectSpec>;

  /** The projects file as `release-bot check-config` sees it, with `more` keys in conjur-cli. */
  const policy = (more: Partial<ProjectSpec> = {}) =>
    projectsYaml({
      staging_dir: bot.staging,
      identity: { strategy: 'map', map: { U024BE7LH: 'alice' } },
      projects: { 'conjur-cli': { ...(projects['conjur-cli'] as ProjectSpec), ...more } },
    });
  /** Replaces the file as editors do: write a temporary file, rename it over the old one. */
  const edit = (content: string) => {
    const tmp = `${configFile}.tmp-${process.hrtime.bigint()}`;
    writeFileSync(tmp, content);
    renameSync(tmp, configFile);
  };
  const entries = (): Entry[] => {
    const db = new Database(path.join(bot.dataDir, 'release-bot.sqlite'), { readonly: true });
    try {
      return (
        db.prepare('SELECT seq, type, version, data_json FROM audit_log ORDER BY seq').all() as {
          seq: number;
          type: string;
          version: string | null;
          data_json: string;
        }[]
      ).map((r) => ({ ...r, data: JSON.parse(r.data_json) as Record<string, unknown> }));
    } finally {
      db.close();
    }
  };
  const release = (version: string) =>
    sendSlackRequest(`${base}/slack/events`, slashCommand({ text: `conjur-cli ${version}`, response_url: slack.responseUrl() }), {
      signingSecret: SIGNING_SECRET,
    });
  const readyz = async () => {
    const res = await fetch(`${base}/readyz`);
    return {
      status: res.status,
      body: (await res.json()) as {
        ready: boolean;
        failing: string[];
        policySha256: string;
        checks: Record<string, { ok: boolean; detail: string }>;
      },
    };
  };
  const refusals = () => slack.calls.filter((c) => c.method === 'chat.postMessage' && text(c).startsWith('The edited projects file'));

  beforeAll(async () => {
    bot = await startBotEnv((dir) => (projects = mirrorProject(dir)), {
      variables: { 'release/mirror/token': { value: MIRROR_TOKEN, readers: ['host:release-bot'] } },
    });
    configFile = bot.env.RELEASE_BOT_CONFIG as string;
    // The file startBotEnv wrote is the policy with nothing more: the edits below change only what they say.
    expect(readFileSync(configFile, 'utf8')).toBe(policy());
    slack = await startSlackStandIn({ token: BOT_TOKEN, users: [{ id: 'U024BE7LH', name: 'alice', email: 'alice@example.com' }] });
    for (const v of ['1.0.0', '1.1.0', '1.2.0']) {
      bot.stageFiles('conjur-cli', v, { [`conjur-cli-${v}.gem`]: `gem bytes ${v}` });
      expect((await bot.cli('stage', 'conjur-cli', v, '--build-number', '10')).code).toBe(0);
    }
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    serve = spawn(process.execPath, [path.join(repoRoot, 'bin/release-bot.js'), 'serve'], {
      env: {
        PATH: process.env.PATH,
        ...bot.env,
        PORT: String(port),
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_API_URL: slack.apiUrl,
      },
      cwd: bot.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    serve.stdout?.on('data', (d) => (output += String(d)));
    serve.stderr?.on('data', (d) => (output += String(d)));
    await waitFor('serve to answer /healthz', async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok === true, 60_000);
  }, 120_000);

  afterAll(async () => {
    if (serve) await stopChild(serve);
    await slack.close();
    // The last test stopped the Conjur stand-in: closing it again fails, the directory still goes.
    await bot.close().catch(() => rmSync(bot.dir, { recursive: true, force: true }));
  });

  it('is ready with the policy it loaded: Conjur, Slack, database and policy checked', async () => {
    const r = await readyz();
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ready: true, failing: [], policySha256: sha256(readFileSync(configFile, 'utf8')) });
    expect(Object.keys(r.body.checks).sort()).toEqual(['conjur', 'database', 'membership', 'policy', 'release-thread', 'slack']);
    expect(r.body.checks.membership?.detail).toBe('membership sentinels in place for 1 group(s)');
    expect(r.body.checks.conjur?.detail).toBe('authenticated as host/release-bot');
    expect(JSON.stringify(r.body)).not.toContain(BOT_TOKEN);
  });

  it('enforces an added approval two seconds after the edit, in serve (Slack) and in the CLI', async () => {
    const edited = policy({ approvals: 1 });
    edit(edited);
    await new Promise((r) => setTimeout(r, 2_000));
    const ask = await release('1.0.0');
    expect(ask.status).toBe(200);
    // The release waits for an approval: the request is in the channel, nothing is published.
    const request = await slack.waitFor(
      (c) => c.method === 'chat.postMessage' && JSON.stringify(c.body.blocks ?? []).includes('asks to release conjur-cli 1.0.0'),
    );
    expect(JSON.stringify(request.body.blocks)).toContain('1 approval(s) from members of');
    const audit = entries();
    const changed = audit.find((e) => e.type === 'config-changed');
    expect(changed?.data).toMatchObject({ sha256: sha256(edited), trigger: 'file-change', changes: ['conjur-cli: approvals 0 → 1'] });
    expect(audit.filter((e) => e.version === '1.0.0').map((e) => e.type)).toEqual(['staged', 'approval-requested']);
    expect(existsSync(path.join(bot.dir, 'mirror/conjur-cli/1.0.0'))).toBe(false);
    // The CLI reads the file per invocation: the same policy.
    const cli = await bot.cli('publish', 'conjur-cli', '1.1.0', '--as', 'alice');
    expect(cli.code).toBe(75);
    expect(cli.stderr).toContain('needs 1 approval(s)');
    expect((await readyz()).body.policySha256).toBe(sha256(edited));
    // A build staged now (by the CLI, announced by serve): its readiness note says what the current policy needs.
    bot.stageFiles('conjur-cli', '1.3.0', { 'conjur-cli-1.3.0.gem': 'gem bytes 1.3.0' });
    expect((await bot.cli('stage', 'conjur-cli', '1.3.0', '--build-number', '13')).code).toBe(0);
    const note = await slack.waitFor((c) => c.method === 'chat.postMessage' && text(c).startsWith('conjur-cli 1.3.0 is ready to release'));
    expect(text(note)).toContain('needs 1 approval(s) from members of release/conjur-cli');
    expect(text(note)).not.toContain('no approvals needed');
  });

  it('refuses a broken edit: the old policy stays, it is audited, posted once and /readyz names the policy', async () => {
    const running = sha256(readFileSync(configFile, 'utf8'));
    // Invalid on purpose: a value the typed builder refuses, put in as text.
    const broken = policy({ approvals: 1 }).replace('approvals: 1', 'approvals: none');
    edit(broken);
    const rejected = await waitFor('config-rejected in the audit', () => entries().find((e) => e.type === 'config-rejected'));
    expect(rejected.data).toMatchObject({ sha256: sha256(broken), runningSha256: running, trigger: 'file-change' });
    expect(String((rejected.data.problems as string[])[0])).toContain('projects.conjur-cli.approvals');
    const post = await slack.waitFor((c) => c.method === 'chat.postMessage' && text(c).startsWith('The edited projects file'));
    expect(post.body.channel).toBe('C0RELEASES');
    expect(text(post)).toContain('projects.conjur-cli.approvals');
    const r = await waitFor('/readyz to report the refused reload', async () => {
      const x = await readyz();
      return x.status === 503 && x;
    });
    expect(r.body.failing).toEqual(['policy']);
    expect(r.body.checks.policy?.detail).toContain('was refused');
    expect(r.body.policySha256).toBe(running);
    // The running policy is still the one with the approval.
    await release('1.1.0');
    await slack.waitFor(
      (c) => c.method === 'chat.postMessage' && JSON.stringify(c.body.blocks ?? []).includes('asks to release conjur-cli 1.1.0'),
    );
    // SIGHUP with the same broken content: reloaded, refused again, but not audited or posted twice.
    serve?.kill('SIGHUP');
    await waitFor('the SIGHUP reload', () => /"trigger":"SIGHUP"[^\n]*still invalid/.test(output));
    expect(entries().filter((e) => e.type === 'config-rejected')).toHaveLength(1);
    expect(refusals()).toHaveLength(1);
    expect(serve?.exitCode).toBeNull();
  });

  it('takes a fixed file on SIGHUP, records the policy sha256 with the release, and audit trace shows it', async () => {
    const fixed = policy();
    edit(fixed);
    serve?.kill('SIGHUP');
    await waitFor('the fixed policy in force', async () => (await readyz()).status === 200);
    const changes = entries().filter((e) => e.type === 'config-changed');
    expect(changes.at(-1)?.data).toMatchObject({ sha256: sha256(fixed), changes: ['conjur-cli: approvals 1 → 0'] });
    // Unchanged on a second SIGHUP: nothing audited.
    serve?.kill('SIGHUP');
    await waitFor('the unchanged SIGHUP', () => output.includes('SIGHUP: the projects file is unchanged'));
    expect(entries().filter((e) => e.type === 'config-changed')).toHaveLength(changes.length);

    await release('1.2.0');
    const published = await waitFor('1.2.0 published', () => entries().find((e) => e.type === 'published' && e.version === '1.2.0'));
    expect(published.data.policySha256).toBe(sha256(fixed));
    const db = new Database(path.join(bot.dataDir, 'release-bot.sqlite'), { readonly: true });
    expect(db.prepare("SELECT policy_sha256 FROM releases WHERE version = '1.2.0' AND state = 'published'").get()).toEqual({
      policy_sha256: sha256(fixed),
    });
    db.close();
    const trace = await bot.cli('audit', 'trace', 'conjur-cli', '1.2.0');
    expect(trace.code).toBe(0);
    expect(trace.stdout).toContain(`policy:      sha256:${sha256(fixed)}`);
    expect(output).not.toContain(MIRROR_TOKEN);
    expect(refusals()).toHaveLength(1);
  });

  it('answers 503 naming Conjur when Conjur stops answering', async () => {
    await bot.conjur.close();
    const r = await waitFor(
      '/readyz to name Conjur',
      async () => {
        const x = await readyz();
        return x.status === 503 && x.body.failing.includes('conjur') && x;
      },
      60_000,
    );
    expect(r.body.failing).toEqual(['conjur']);
    expect(r.body.checks.conjur?.ok).toBe(false);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});
