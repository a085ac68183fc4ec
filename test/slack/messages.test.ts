import { parseReleaseValue } from '../../handlers/slack/action-values.js';
import { approvalRequestMessage } from '../../handlers/slack/messages/approval.js';
import { errorMessage } from '../../handlers/slack/messages/denial.js';
import { auditListMessage, stagedListMessage } from '../../handlers/slack/messages/listings.js';
import { link, type SlackMessage } from '../../handlers/slack/messages/mrkdwn.js';
import { readinessMessage } from '../../handlers/slack/messages/readiness.js';
import { releaseSummaryMessage } from '../../handlers/slack/messages/release-summary.js';
import type { AuditEntry } from '../../src/audit/log.js';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import type { ApprovalRequest } from '../../src/release/approvals.js';
import type { ReleaseSummary } from '../../src/release/types.js';
import type { ReleaseRecord } from '../../src/store/releases.js';
import type { StagedBuild } from '../../src/store/staged-builds.js';

const sha = (c: string) => c.repeat(64);

function summary(overrides: Partial<ReleaseSummary> = {}): ReleaseSummary {
  return {
    releaseId: 'rel_abc',
    project: 'conjur-cli',
    version: '4.2.0',
    state: 'published',
    dryRun: false,
    resumeOf: null,
    build: {
      job: 'conjur-cli',
      number: 123,
      url: 'https://jenkins.example/job/conjur-cli/123/',
      commit: '9fceb02d0ae598e95dc970b74767f19372d61af8',
    },
    artifact: { kind: 'files', files: [{ path: 'conjur-cli-4.2.0.gem', sha256: sha('a'), size: 10 }] },
    requester: { login: 'alice', via: 'slack', chatUserId: 'U0ALICE' },
    approvers: ['bob'],
    destinations: [
      { name: 'rubygems', type: 'rubygems', status: 'published', attempts: 1, durationMs: 2300, readBackDigest: `sha256:${sha('b')}` },
      {
        name: 'downloads',
        type: 'ssh',
        status: 'failed',
        attempts: 3,
        durationMs: 61_000,
        error: { code: 'TIMEOUT', message: 'no answer', retryable: true },
      },
    ],
    credentialIds: ['release/rubygems/api-key'],
    startedAt: '2030-01-01T10:00:00.000Z',
    finishedAt: '2030-01-01T10:01:05.000Z',
    durationMs: 65_000,
    auditId: 'aud_xyz',
    ...overrides,
  };
}

/** Every text Slack would render: each must respect Slack's limits. */
function checkLimits(m: SlackMessage): void {
  expect(m.text.length).toBeGreaterThan(0);
  expect(m.blocks.length).toBeLessThanOrEqual(50);
  for (const b of m.blocks) {
    if (b.type === 'header') expect(b.text.text.length).toBeLessThanOrEqual(150);
    if (b.type === 'section') {
      if (b.text) expect(b.text.text.length).toBeLessThanOrEqual(3000);
      for (const f of b.fields ?? []) expect(f.text.length).toBeLessThanOrEqual(2000);
      expect((b.fields ?? []).length).toBeLessThanOrEqual(10);
    }
    if (b.type === 'actions') for (const e of b.elements) if (e.type === 'button') expect((e.value ?? '').length).toBeLessThanOrEqual(2000);
  }
}

describe('Slack message builders (pure: {text, blocks})', () => {
  it('the audit summary carries build link, commit, short digests, requester, approvers, each destination with result and duration, total and audit id', () => {
    const m = releaseSummaryMessage(summary({ state: 'failed' }));
    checkLimits(m);
    const blocks = JSON.stringify(m.blocks);
    expect(m.text).toMatch(/^Release FAILED: conjur-cli 4\.2\.0 \(failed\)/);
    expect(m.text).toContain('total: 1 min 5 s; release rel_abc; audit entry aud_xyz');
    expect(blocks).toContain('<https://jenkins.example/job/conjur-cli/123/|#123>');
    expect(blocks).toContain('`9fceb02d0ae5`');
    expect(blocks).toContain(`\`${'a'.repeat(12)}\``);
    expect(blocks).toContain('alice (<@U0ALICE>)');
    expect(blocks).toContain('*Approved by*\\nbob');
    expect(blocks).toContain(`*rubygems* [rubygems]: published \`${'b'.repeat(12)}\` in 2.3 s`);
    expect(blocks).toContain('*downloads* [ssh]: failed (TIMEOUT): no answer in 1 min 1 s after 3 attempts');
    expect(blocks).toContain('audit entry `aud_xyz`');
  });

  it('escapes hostile values so they cannot mention @channel, fake links or break code spans', () => {
    const hostile = summary({
      requester: { login: '<!channel>', via: 'slack', chatUserId: '<!here>' },
      build: { number: 1, url: 'javascript:alert(1)', commit: '`rm -rf`' },
      destinations: [
        {
          name: 'x<https://evil|click>',
          type: 'exec',
          status: 'failed',
          attempts: 1,
          durationMs: 1,
          error: { code: 'EXEC_FAILED', message: '<@U123> & <!everyone>', retryable: false },
        },
      ],
    });
    const blocks = JSON.stringify(releaseSummaryMessage(hostile).blocks);
    expect(blocks).not.toMatch(/<!channel>|<!here>|<!everyone>|<https:\/\/evil|<@U123>|javascript:/);
    expect(blocks).toContain('&lt;!channel&gt;');
    expect(link('https://jenkins.example/a|b>c', 'x|y')).toBe('<https://jenkins.example/a%7Cb%3Ec|x¦y>');
    expect(link('ftp://files.example/', '#1')).toBe('#1');
  });

  it('readiness note: a Release button whose value names the staged build, and a confirm dialog', () => {
    const staged: StagedBuild = {
      id: 42,
      project: 'conjur-cli',
      version: '4.2.0',
      fingerprint: 'f',
      stagedAt: '2030-01-01T09:00:00.000Z',
      reportedBy: 'jenkins:conjur-cli',
      build: { number: 123 },
      artifact: { kind: 'docker', ref: 'registry.local/conjur-cli', digest: `sha256:${sha('c')}`, tlsVerify: true },
    };
    const m = readinessMessage({
      staged,
      project: {
        name: 'conjur-cli',
        approvals: 0,
        approver_group: 'g',
        authorized_group: 'release/conjur-cli',
        destinations: [{ name: 'hub', type: 'docker' }],
      },
    });
    checkLimits(m);
    const actions = m.blocks.find((b) => b.type === 'actions');
    const button = actions?.type === 'actions' ? actions.elements[0] : undefined;
    expect(button).toMatchObject({
      type: 'button',
      action_id: 'release_staged',
      text: { text: 'Release' },
      confirm: { confirm: { text: 'Release' } },
    });
    expect(parseReleaseValue(button?.type === 'button' ? button.value : undefined)).toEqual({
      project: 'conjur-cli',
      version: '4.2.0',
      stagedBuildId: 42,
    });
    expect(m.text).toContain(`registry.local/conjur-cli@sha256:${'c'.repeat(12)}`);
  });

  it('approval request: Approve button while open, none once closed', () => {
    const r: ApprovalRequest = {
      id: 'apr_0123456789abcdef',
      project: 'gated',
      version: '1.0.0',
      stagedBuildId: 1,
      fingerprint: 'f',
      requester: { login: 'alice', via: 'slack' },
      needed: 2,
      approverGroup: 'release/approvers',
      resume: false,
      action: 'release',
      reason: null,
      noLock: false,
      status: 'open',
      createdAt: '2030-01-01T10:00:00.000Z',
      expiresAt: '2030-01-01T11:00:00.000Z',
      closedAt: null,
      closedReason: null,
      approvals: [{ login: 'bob', chatUserId: null, at: '2030-01-01T10:05:00.000Z' }],
    };
    const open = approvalRequestMessage(r);
    checkLimits(open);
    expect(open.text).toContain('1 of 2 approval(s) from release/approvers (bob)');
    expect(JSON.stringify(open.blocks)).toContain('"value":"apr_0123456789abcdef"');
    const done = approvalRequestMessage({ ...r, status: 'void', closedReason: 'gated 1.0.0 was re-staged' });
    expect(done.blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(JSON.stringify(done.blocks)).toContain('Void: gated 1.0.0 was re-staged');
  });

  it('denials say why: the group, when and by whom, who froze it and why', () => {
    const notAuthorized = errorMessage(
      new ReleaseBotError(ErrorCode.NotAuthorized, 'mallory is not a member', { details: { group: 'release/conjur-cli' } }),
    );
    expect(JSON.stringify(notAuthorized.blocks)).toContain('member of the Conjur group `release/conjur-cli`');
    const released = errorMessage(
      new ReleaseBotError(ErrorCode.AlreadyReleased, 'was already released', {
        details: { at: '2030-01-01T10:00:00.000Z', by: 'alice', releaseId: 'rel_1' },
      }),
    );
    expect(JSON.stringify(released.blocks)).toMatch(/Released <!date\^1893492000\^[^|]+\|2030-01-01T10:00:00.000Z> by alice \(`rel_1`\)/);
    const frozen = errorMessage(
      new ReleaseBotError(ErrorCode.Frozen, 'frozen', {
        details: { by: 'alice', at: '2030-01-01T10:00:00.000Z', reason: 'audit <!channel>' },
      }),
    );
    expect(JSON.stringify(frozen.blocks)).toContain('Frozen by alice since <!date^1893492000');
    expect(JSON.stringify(frozen.blocks)).toContain('_audit &lt;!channel&gt;_');
    // The fallback says what the blocks say: the refusal, then who froze it, when and why.
    expect(frozen.text.split('\n')).toEqual([
      'Releases are frozen: frozen',
      expect.stringMatching(/^Frozen by alice since <!date\^1893492000.*: _audit &lt;!channel&gt;_\. Unfreeze with/),
    ]);
  });

  it('/release list: the text fallback and the blocks say the same (how many are ready, and each state)', () => {
    const build = (version: string, id: number): StagedBuild => ({
      id,
      project: 'conjur-cli',
      version,
      fingerprint: 'f',
      stagedAt: '2030-01-01T09:00:00.000Z',
      reportedBy: 'jenkins:conjur-cli',
      build: { number: id },
      artifact: { kind: 'docker', ref: 'registry.local/conjur-cli', digest: `sha256:${sha('c')}`, tlsVerify: true },
    });
    const released = { state: 'published', requesterLogin: 'alice' } as ReleaseRecord;
    const m = stagedListMessage([{ staged: build('4.2.0', 1), release: released }, { staged: build('4.3.0', 2) }]);
    expect(m.text).toContain('1 ready to release');
    expect(m.text).toContain('conjur-cli 4.2.0 (published)');
    expect(JSON.stringify(m.blocks)).toContain('1 ready to release');
    expect(JSON.stringify(m.blocks)).toContain('(published by alice)');
    const none = stagedListMessage([{ staged: build('4.2.0', 1), release: released }]);
    expect(none.text).toContain('0 ready to release');
    expect(JSON.stringify(none.blocks)).toContain('0 ready to release');
  });

  it('a long audit listing is split into sections Slack accepts', () => {
    const entries: AuditEntry[] = Array.from({ length: 50 }, (_, i) => ({
      seq: i,
      id: `aud_${String(i).padStart(12, '0')}`,
      at: '2030-01-01T10:00:00.000Z',
      type: 'denied',
      project: 'conjur-cli',
      version: '4.2.0',
      releaseId: null,
      actor: { via: 'slack', conjurLogin: 'mallory' },
      data: { code: 'NOT_AUTHORIZED', reason: 'not a member' },
      prevHash: '0',
      hash: '1',
    }));
    const m = auditListMessage(entries, 'conjur-cli');
    checkLimits(m);
    expect(m.blocks.filter((b) => b.type === 'section').length).toBeGreaterThan(2);
    expect(JSON.stringify(m.blocks)).toContain('aud_000000000049');
  });
});
