import { existsSync } from 'node:fs';
import path from 'node:path';
import type { RecordedSlackCall } from '../../dev/slack-stand-in.js';
import { isAuditType } from '../../src/audit/entries.js';
import { bodyText, startSlackWorld, USERS, type SlackWorld } from '../support/slack-world.js';

const text = (c: RecordedSlackCall) => String(c.body.text ?? '');

/**
 * Issue 12: identity pinned to the home organisation. Every attacker below would become the Conjur
 * user `bob` (member of release/conjur-cli and of release/approvers) if only the email's local part
 * counted. Each tries every Slack way in; nothing may be released, approved, locked or revealed.
 */
const ATTACKERS = [
  // A full member of the home workspace who set and verified an address in another domain.
  {
    what: 'an address in another domain',
    id: 'U0EVILDOM',
    email: 'bob@evil.example',
    why: 'is in "evil.example", which is not one of the company\'s domains',
  },
  // The same trick with a look-alike: the company's domain as a subdomain of the attacker's.
  { what: 'a look-alike domain', id: 'U0LOOKALIKE', email: 'bob@example.com.evil.example', why: 'is in "example.com.evil.example"' },
  // Slack Connect: a user of a partner workspace, with the company's address even.
  {
    what: 'a user of another workspace',
    id: 'U0PARTNER',
    email: 'bob@example.com',
    teamId: 'T0PARTNER',
    why: 'is not of this organisation (a user of workspace T0PARTNER)',
  },
  {
    what: 'a stranger',
    id: 'U0STRANGER',
    email: 'bob@example.com',
    teamId: 'T0PARTNER',
    isStranger: true,
    why: 'is not of this organisation',
  },
  { what: 'a guest', id: 'U0GUEST', email: 'bob@example.com', isRestricted: true, why: 'guest accounts cannot use release-bot' },
  {
    what: 'a single-channel guest',
    id: 'U0SINGLE',
    email: 'bob@example.com',
    isUltraRestricted: true,
    why: 'guest accounts cannot use release-bot',
  },
] as const;

describe('Slack identity pinned to the home workspace and the company domains (signed requests, loopback stand-in)', () => {
  let w: SlackWorld;
  let stagedId: number;
  let requestId: string;

  beforeAll(async () => {
    w = await startSlackWorld({
      identity: 'email-localpart',
      identityKeys: { email_domains: ['example.com', 'corp.example.net'] },
      auditGroup: 'release/approvers',
      sleepSeconds: 0,
      extraUsers: [...ATTACKERS.map(({ what: _w, why: _y, ...user }) => user), { id: 'U0DAVE', email: 'Dave@Corp.Example.NET' }],
    });
    stagedId = await w.stage('conjur-cli', '8.0.0', { 'conjur-cli-8.0.0.gem': 'eight' });
    await w.stage('gated', '8.0.0', { 'gated-8.0.0.tgz': 'gated eight' });
    // An open approval request of alice's: any of the attackers approving as bob would complete it.
    const ask = await w.command('alice', 'gated 8.0.0');
    expect(text(await w.reply(ask.responseUrl))).toContain('Waiting for 1 approval(s)');
    const request = await w.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && c.body.channel === 'C0GATED' && text(c).startsWith('alice asks to release gated 8.0.0'),
    );
    requestId = /approval request `(apr_[A-Za-z0-9_-]+)`/.exec(bodyText(request))?.[1] as string;
    expect(requestId).toBeDefined();
  });

  afterAll(async () => {
    await w.stop();
  });

  /** Every Slack way in, from one sender; resolves with each answer the sender got. */
  async function everyWayIn(send: {
    command: (text: string) => Promise<{ body: string; responseUrl: string }>;
    click: (actionId: string, value: string) => Promise<{ responseUrl: string }>;
  }): Promise<Array<{ way: string; ack: string; reply: RecordedSlackCall }>> {
    const ways: Array<[string, () => Promise<{ body?: string; responseUrl: string }>]> = [
      ['/release', () => send.command('conjur-cli 8.0.0')],
      ['Release button', () => send.click('release_staged', JSON.stringify({ p: 'conjur-cli', v: '8.0.0', s: stagedId }))],
      ['Approve button', () => send.click('approve_release', requestId)],
      ['lock', () => send.command('lock conjur-cli mine now')],
      ['unlock', () => send.command('unlock conjur-cli')],
      ['list', () => send.command('list')],
      ['status', () => send.command('status conjur-cli 8.0.0')],
      ['audit', () => send.command('audit')],
    ];
    const answers = [];
    for (const [way, go] of ways) {
      const sent = await go();
      answers.push({ way, ack: sent.body ?? '', reply: await w.reply(sent.responseUrl) });
    }
    return answers;
  }

  function expectNothingHappened(): void {
    expect(existsSync(path.join(w.outDir, 'conjur-cli/8.0.0'))).toBe(false);
    expect(existsSync(path.join(w.mirrorDir, 'gated/8.0.0'))).toBe(false);
    expect(w.server.app.releases.latest('conjur-cli', '8.0.0', 5)).toHaveLength(0);
    expect(w.server.app.releases.latest('gated', '8.0.0', 5)).toHaveLength(0);
    const kinds = w.server.app.audit.list({ limit: 1000 }).map((e) => e.type);
    expect(kinds).not.toContain('approved');
    expect(kinds).not.toContain('frozen');
    expect(w.slack.callsTo('chat.postMessage').filter((c) => /^Releasing|is frozen by/.test(text(c)))).toHaveLength(0);
  }

  /** What only an identified person may read: staged files, groups, logins, the approval request, audit entries. */
  const PROJECT_DATA = ['conjur-cli-8.0.0.gem', 'release/conjur-cli', 'release/approvers', 'alice', 'apr_', 'published', 'staged'];

  it.each(ATTACKERS.map((a) => [a.what, a] as const))(
    'refuses %s for /release, both buttons, lock, unlock, list, status and audit',
    async (_what, attacker) => {
      const answers = await everyWayIn({
        command: (t) => w.commandFrom({ user_id: attacker.id, user_name: 'bob' }, t),
        click: (actionId, value) =>
          w.clickFrom(
            { userId: attacker.id, userName: 'bob', ...('teamId' in attacker ? { userTeamId: attacker.teamId } : {}) },
            actionId,
            value,
          ),
      });
      for (const { way, ack, reply } of answers) {
        expect({ way, response_type: reply.body.response_type }).toEqual({ way, response_type: 'ephemeral' });
        expect({ way, text: text(reply) }).toEqual({ way, text: expect.stringContaining(attacker.why) });
        for (const secret of PROJECT_DATA) {
          expect({ way, leaked: [ack, bodyText(reply)].some((s) => s.includes(secret)) }).toEqual({ way, leaked: false });
        }
      }
      expectNothingHappened();
      const denials = w.server.app.audit
        .list({ limit: 100 })
        .filter(isAuditType('denied'))
        .filter((e) => e.actor.chatUserId === attacker.id);
      expect(denials.map((e) => e.data.action).sort()).toEqual([
        'approve',
        'audit',
        'list',
        'lock',
        'release',
        'release',
        'status',
        'unlock',
      ]);
      for (const d of denials) {
        expect(d.data.code).toBe('IDENTITY_UNRESOLVED');
        expect(d.actor.conjurLogin).toBeUndefined();
      }
    },
  );

  it('refuses a request made from another workspace, even by a home user with a company address', async () => {
    const answers = await everyWayIn({
      command: (t) => w.commandFrom({ user_id: USERS.bob.id, user_name: 'bob', team_id: 'T0PARTNER', team_domain: 'partner' }, t),
      click: (actionId, value) => w.clickFrom({ userId: USERS.bob.id, userName: 'bob', teamId: 'T0PARTNER' }, actionId, value),
    });
    for (const { way, reply } of answers)
      expect({ way, text: text(reply) }).toEqual({
        way,
        text: expect.stringContaining('is not of this organisation (a request from T0PARTNER)'),
      });
    expectNothingHappened();
  });

  it('refuses a click by a Slack Connect user in a home channel (user.team_id of another workspace)', async () => {
    const click = await w.clickFrom({ userId: USERS.bob.id, userName: 'bob', userTeamId: 'T0PARTNER' }, 'approve_release', requestId);
    expect(text(await w.reply(click.responseUrl))).toContain('is not of this organisation (a user of workspace T0PARTNER)');
    expectNothingHappened();
  });

  it('answers /release audit only to members of audit_group (Conjur decides); list and status to anyone identified', async () => {
    const refused = await w.command('alice', 'audit conjur-cli');
    expect(refused.body).toBe('');
    const refusal = await w.reply(refused.responseUrl);
    expect(text(refusal)).toContain(
      'alice is not a member of the Conjur group release/approvers, whose members may read the audit log (audit_group)',
    );
    expect(text(refusal)).not.toContain('denied');
    expect(w.server.app.audit.list({ limit: 1 })[0]).toMatchObject({
      type: 'denied',
      actor: { conjurLogin: 'alice', chatUserId: USERS.alice.id },
      data: { action: 'audit', code: 'NOT_AUTHORIZED' },
    });

    const allowed = await w.command('bob', 'audit conjur-cli 5');
    expect(text(await w.reply(allowed.responseUrl))).toContain('denied conjur-cli 8.0.0');
    const status = await w.command('alice', 'status conjur-cli');
    expect(text(await w.reply(status.responseUrl))).toContain('8.0.0');
  });

  it('answers a user of another allowed domain (Dave@Corp.Example.NET is dave), and then releases as bob', async () => {
    const list = await w.commandFrom({ user_id: 'U0DAVE', user_name: 'dave' }, 'list');
    expect(list.body).toBe('');
    expect(text(await w.reply(list.responseUrl))).toContain('conjur-cli 8.0.0');
    const status = await w.commandFrom({ user_id: 'U0DAVE', user_name: 'dave' }, 'status gated 8.0.0');
    expect(text(await w.reply(status.responseUrl))).toContain('8.0.0');

    const release = await w.command('bob', 'conjur-cli 8.0.0');
    expect(text(await w.reply(release.responseUrl, 30_000))).toContain('conjur-cli 8.0.0: published');
    expect(existsSync(path.join(w.outDir, 'conjur-cli/8.0.0/conjur-cli-8.0.0.gem'))).toBe(true);
  });
});

describe('Slack identity while auth.test fails and no identity.team_id is configured', () => {
  let w: SlackWorld;

  beforeAll(async () => {
    w = await startSlackWorld({ sleepSeconds: 0, authTestFails: 'invalid_auth' });
    await w.stage('conjur-cli', '9.0.0', { 'conjur-cli-9.0.0.gem': 'nine' });
  });

  afterAll(async () => {
    await w.stop();
  });

  it('fails closed: refuses everyone privately, says why in the log, and identifies people once auth.test answers', async () => {
    for (const t of ['conjur-cli 9.0.0', 'list', 'lock conjur-cli no home']) {
      const sent = await w.command('alice', t);
      const reply = await w.reply(sent.responseUrl);
      expect(reply.body.response_type).toBe('ephemeral');
      expect(text(reply)).toContain(
        'release-bot does not know its home Slack workspace yet (auth.test failed: An API error occurred: invalid_auth)',
      );
      expect(bodyText(reply)).not.toContain('conjur-cli-9.0.0.gem');
    }
    expect(w.logLines.some((l) => l.includes('Slack auth.test failed: the home workspace is unknown'))).toBe(true);
    expect(existsSync(path.join(w.outDir, 'conjur-cli/9.0.0'))).toBe(false);
    expect(w.server.app.releases.latest('conjur-cli', '9.0.0', 5)).toHaveLength(0);
    expect(w.server.app.audit.list({ limit: 100 }).map((e) => e.type)).not.toContain('frozen');

    // Slack answers again: within the retry interval (5 s) a request learns the home, and alice is alice.
    w.slack.failMethod('auth.test', undefined);
    const deadline = Date.now() + 30_000;
    let answer = '';
    while (!answer.includes('conjur-cli 9.0.0') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1_000));
      const sent = await w.command('alice', 'list');
      answer = text(await w.reply(sent.responseUrl));
    }
    expect(answer).toContain('conjur-cli 9.0.0');
  });
});

describe('Slack identity on Enterprise Grid (home organisation from auth.test)', () => {
  let w: SlackWorld;

  beforeAll(async () => {
    w = await startSlackWorld({
      identity: 'email-localpart',
      enterpriseId: 'E0DEVORG',
      sleepSeconds: 0,
      extraUsers: [
        { id: 'W0SISTER', email: 'dave@example.com', teamId: 'T0SISTER', enterpriseId: 'E0DEVORG' },
        { id: 'W0OTHERORG', email: 'bob@example.com', teamId: 'T0OTHERORG', enterpriseId: 'E0OTHERORG' },
      ],
    });
    await w.stage('conjur-cli', '9.1.0', { 'conjur-cli-9.1.0.gem': 'nine one' });
  });

  afterAll(async () => {
    await w.stop();
  });

  it('answers a user of another workspace of the home organisation, and refuses a user of another organisation in a home channel', async () => {
    const sister = await w.commandFrom({ user_id: 'W0SISTER', user_name: 'dave', team_id: 'T0SISTER', enterprise_id: 'E0DEVORG' }, 'list');
    expect(text(await w.reply(sister.responseUrl))).toContain('conjur-cli 9.1.0');

    const other = await w.commandFrom({ user_id: 'W0OTHERORG', user_name: 'bob', enterprise_id: 'E0DEVORG' }, 'conjur-cli 9.1.0');
    expect(text(await w.reply(other.responseUrl))).toContain('is not of this organisation (a user of workspace T0OTHERORG)');
    const otherList = await w.commandFrom({ user_id: 'W0OTHERORG', user_name: 'bob', enterprise_id: 'E0DEVORG' }, 'list');
    expect(bodyText(await w.reply(otherList.responseUrl))).not.toContain('9.1.0');
    expect(existsSync(path.join(w.outDir, 'conjur-cli/9.1.0'))).toBe(false);
    expect(w.server.app.releases.latest('conjur-cli', '9.1.0', 5)).toHaveLength(0);
  });
});
