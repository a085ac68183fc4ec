import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { membershipSentinels, type RoleRef } from '../../dev/conjur-stand-in.js';
import type { RecordedSlackCall } from '../../dev/slack-stand-in.js';
import { project } from '../support/projects-file.js';
import { CANARY, startSlackWorld, type SlackWorld } from '../support/slack-world.js';

const text = (c: RecordedSlackCall) => String(c.body.text ?? '');

/** Polls `probe` until it returns something truthy; no durations are asserted. */
async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Through a running `serve` and signed Slack requests: Conjur (1.19.3+) hides every person from the
 * bot, and carol is in release/conjur-cli only through team-hidden, a nested group the bot may not
 * see either. Conjur counts her (all_roles); the group's membership sentinel is how the bot sees
 * that (roles_that_can, cyberark/conjur db/migrate/20160705141848_create_authz_functions.rb). A
 * project whose group has no sentinel is refused as "membership undetermined", naming the fix.
 */
describe("membership through a running serve: the sentinel admits a hidden nested group's member, refuses an outsider", () => {
  let w: SlackWorld;
  const bot: RoleRef = 'host:release-bot';
  const withSentinel = ['release/conjur-cli', 'release/core-team', 'release/gated', 'release/approvers'];

  beforeAll(async () => {
    w = await startSlackWorld({
      sleepSeconds: 0,
      conjur: {
        groups: {
          'release/conjur-cli': ['group:release/core-team', 'group:team-hidden'],
          'team-hidden': ['user:carol'],
          'release/orphan': ['user:carol'],
        },
        owners: {
          'policy:root': 'user:admin',
          'policy:release': 'policy:root',
          'group:release/conjur-cli': 'policy:release',
          'group:team-hidden': 'policy:root',
          'group:release/orphan': 'policy:release',
        },
        // The bot reads the release groups (deploy/conjur/policy.yml), no person, not team-hidden.
        visibility: Object.fromEntries([...withSentinel, 'release/orphan'].map((g) => [`group:${g}`, [bot]])),
        // Every group but release/orphan has its sentinel, declared in the group's own policy.
        webservices: membershipSentinels(withSentinel, { owner: (g) => (g.startsWith('release/') ? 'policy:release' : 'policy:root') }),
      },
      extraProjects: {
        // Never written: every release of orphan is refused.
        orphan: project('orphan', [
          { name: 'mirror', type: 'directory', path: `${path.join(tmpdir(), `release-bot-orphan-${process.pid}`)}/{project}/{version}` },
        ]),
      },
    });
  }, 120_000);

  afterAll(async () => {
    await w.stop();
  });

  const audit = (project: string, version: string) => w.server.app.audit.list({ project, version, limit: 20 });

  it('admits carol, a member only through a nested group the bot cannot see, with one sentinel request and no read of any person', async () => {
    await w.stage('conjur-cli', '5.0.0', { 'conjur-cli-5.0.0.gem': 'gem bytes 5.0.0' });
    const from = w.conjur.requests.length;
    const sent = await w.command('carol', 'conjur-cli 5.0.0');
    expect(sent.status).toBe(200);
    const published = await waitFor('conjur-cli 5.0.0 published', () => audit('conjur-cli', '5.0.0').find((e) => e.type === 'published'));
    expect(published.actor).toMatchObject({ conjurLogin: 'carol', via: 'slack' });
    expect(existsSync(path.join(w.outDir, 'conjur-cli/5.0.0'))).toBe(true);
    const asked = w.conjur.requests
      .slice(from)
      .filter((r) => r.method === 'GET' && r.path !== '/secrets')
      .map((r) => `${r.path}?${r.query} ${r.status}`);
    expect(asked).toContain('/resources/acme/webservice/release%2Fconjur-cli?permitted_roles=true&privilege=release 200');
    expect(asked.filter((a) => a.startsWith('/roles/'))).toEqual([]);
  });

  it('refuses mallory (in no group), privately, audited as NOT_AUTHORIZED, nothing published', async () => {
    await w.stage('conjur-cli', '5.0.1', { 'conjur-cli-5.0.1.gem': 'gem bytes 5.0.1' });
    const sent = await w.command('mallory', 'conjur-cli 5.0.1');
    const denial = await w.reply(sent.responseUrl);
    expect(denial.body.response_type).toBe('ephemeral');
    expect(text(denial)).toContain('mallory is not a member of the Conjur group release/conjur-cli');
    const denied = await waitFor('the denial audited', () => audit('conjur-cli', '5.0.1').find((e) => e.type === 'denied'));
    expect(denied).toMatchObject({ actor: { conjurLogin: 'mallory', via: 'slack' }, data: { code: 'NOT_AUTHORIZED' } });
    expect(audit('conjur-cli', '5.0.1').map((e) => e.type)).not.toContain('published');
    expect(existsSync(path.join(w.outDir, 'conjur-cli/5.0.1'))).toBe(false);
  });

  it('a group without a sentinel (people hidden): refused as membership undetermined, the reply naming the policy to add; /readyz names the project', async () => {
    await w.stage('orphan', '1.0.0', { 'orphan-1.0.0.tgz': 'orphan bytes' });
    const sent = await w.command('carol', 'orphan 1.0.0');
    const denial = await w.reply(sent.responseUrl);
    expect(text(denial)).toContain('cannot tell whether carol is a member of the Conjur group release/orphan');
    expect(text(denial)).toContain('Declare !webservice release/orphan in the policy that declares the group');
    const denied = await waitFor('the denial audited', () => audit('orphan', '1.0.0').find((e) => e.type === 'denied'));
    expect(denied).toMatchObject({ actor: { conjurLogin: 'carol' }, data: { code: 'MEMBERSHIP_UNDETERMINED' } });
    expect(audit('orphan', '1.0.0').map((e) => e.type)).not.toContain('published');
    // A lock asks the same question, and is refused in the same words (not "try again when Conjur answers").
    const lock = await w.command('carol', 'lock orphan to test');
    expect(text(await w.reply(lock.responseUrl))).toContain('Declare !webservice release/orphan in the policy that declares the group');

    const res = await fetch(`${w.baseUrl}/readyz`);
    const body = (await res.json()) as { failing: string[]; checks: Record<string, { ok: boolean; detail: string }> };
    expect(res.status).toBe(503);
    expect(body.failing).toContain('membership');
    expect(body.checks.membership?.detail).toBe(
      'no membership sentinel !webservice release/orphan visible to host/release-bot (project orphan): Declare !webservice release/orphan in the policy that declares the group (so it has the same owner), permit the group release and host/release-bot read on it (deploy/conjur/policy.yml)',
    );
    // No credential of the bot's in any reply, log line or audit entry.
    const seen = JSON.stringify(w.slack.calls) + w.logLines.join('\n') + JSON.stringify(w.server.app.audit.list({ limit: 100 }));
    expect(seen).not.toContain(CANARY.conjurApiKey);
  });
});
