import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { membershipSentinels, startConjurStandIn, type ConjurStandIn } from '../../dev/conjur-stand-in.js';
import { ErrorCode } from '../../src/errors.js';
import { createApp, type App } from '../../app/create.js';
import type { Approvals, ApprovalRequest } from '../../src/release/approvals.js';
import type { Freezes } from '../../src/release/freeze.js';
import type { Requester } from '../../src/release/types.js';
import { project, writeProjectsFile } from '../support/projects-file.js';
import { makeTmpDir } from '../support/tmp.js';

const as = (login: string, chatUserId?: string): Requester => ({ login, via: 'slack', ...(chatUserId ? { chatUserId } : {}) });

describe('Approvals and Freezes in the core (two-person rule, freeze), against a Conjur stand-in', () => {
  const tmp = makeTmpDir();
  const staging = path.join(tmp.dir, 'staging');
  const mirror = path.join(tmp.dir, 'mirror');
  let conjur: ConjurStandIn;
  let app: App;
  let env: NodeJS.ProcessEnv;
  let approvals: Approvals;
  let freezes: Freezes;
  let clock = Date.parse('2030-01-01T10:00:00Z');
  const now = () => new Date(clock);
  const closed: ApprovalRequest[] = [];

  const stage = async (version: string, content: string) => {
    const dir = path.join(staging, 'gated', version);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `gated-${version}.tgz`), content);
    return (await app.core.stage({ project: 'gated', version, build: { number: 7 }, reportedBy: 'test', actor: { via: 'test' } })).staged;
  };

  beforeAll(async () => {
    conjur = await startConjurStandIn({
      account: 'acme',
      apiKeys: { 'host/release-bot': 'k'.repeat(55) },
      groups: { 'release/gated': ['user:alice', 'user:bob'], 'release/approvers': ['user:bob', 'user:carol', 'user:dave'] },
      webservices: membershipSentinels(['release/gated', 'release/approvers']),
    });
    writeProjectsFile(path.join(tmp.dir, 'releases.yml'), {
      staging_dir: staging,
      identity: { strategy: 'map' },
      projects: {
        gated: project('gated', [{ name: 'mirror', type: 'directory', path: `${mirror}/{project}/{version}` }], {
          approvals: 2,
          approver_group: 'release/approvers',
          approval_ttl_seconds: 600,
        }),
      },
    });
    env = {
      CONJUR_APPLIANCE_URL: conjur.url,
      CONJUR_ACCOUNT: 'acme',
      CONJUR_AUTHN_LOGIN: 'host/release-bot',
      CONJUR_AUTHN_API_KEY: 'k'.repeat(55),
      RELEASE_BOT_CONFIG: path.join(tmp.dir, 'releases.yml'),
      RELEASE_BOT_DATA_DIR: path.join(tmp.dir, 'data'),
    };
    app = createApp({
      env,
      logDestination: new Writable({ write: (_c, _e, cb) => cb() }),
    });
    ({ freezes, approvals } = app.approvalServices({ log: app.log, now }));
    approvals.events.on('approval-closed', ({ request }) => closed.push(request));
  });

  afterAll(async () => {
    app.close();
    await conjur.close();
    tmp.cleanup();
  });

  it('refuses the requester, non-members and a second approval by the same person; N approvals release with the approvers named', async () => {
    await stage('1.0.0', 'one');
    await expect(approvals.request('gated', '1.0.0', as('mallory'))).rejects.toMatchObject({
      code: ErrorCode.NotAuthorized,
      details: { group: 'release/gated' },
    });
    const { request, created } = await approvals.request('gated', '1.0.0', as('alice', 'U0ALICE'));
    expect(created).toBe(true);
    expect(request).toMatchObject({ needed: 2, approverGroup: 'release/approvers', status: 'open', expiresAt: '2030-01-01T10:10:00.000Z' });
    // Asking again returns the open request rather than a second one.
    expect((await approvals.request('gated', '1.0.0', as('bob'))).request.id).toBe(request.id);

    // bob is an approver, but asked as alice's Slack user: the same person, refused.
    await expect(approvals.approve(request.id, as('bob', 'U0ALICE'))).rejects.toMatchObject({
      code: ErrorCode.NotAuthorized,
      details: { reason: 'own-request' },
    });
    await expect(approvals.approve(request.id, as('alice'))).rejects.toMatchObject({
      code: ErrorCode.NotAuthorized,
      details: { reason: 'own-request' },
    });
    await expect(approvals.approve(request.id, as('mallory'))).rejects.toMatchObject({
      code: ErrorCode.NotAuthorized,
      details: { group: 'release/approvers' },
    });
    await expect(approvals.approve('apr_../../etc', as('bob'))).rejects.toMatchObject({ code: ErrorCode.NotFound });

    const first = await approvals.approve(request.id, as('bob', 'U0BOB'));
    expect(first.status).toBe('recorded');
    await expect(approvals.approve(request.id, as('bob', 'U0BOB'))).rejects.toMatchObject({
      code: ErrorCode.Conflict,
      details: { reason: 'already-approved' },
    });
    expect(existsSync(path.join(mirror, 'gated/1.0.0'))).toBe(false);

    const second = await approvals.approve(request.id, as('carol'));
    expect(second.status).toBe('releasing');
    const summary = second.status === 'releasing' ? await second.release : undefined;
    expect(summary).toMatchObject({ state: 'published', requester: { login: 'alice' }, approvers: ['bob', 'carol'] });
    expect(existsSync(path.join(mirror, 'gated/1.0.0/gated-1.0.0.tgz'))).toBe(true);
    await expect(approvals.approve(request.id, as('dave'))).rejects.toMatchObject({
      code: ErrorCode.Conflict,
      details: { reason: 'approved' },
    });

    const audit = app.audit.list({ project: 'gated', version: '1.0.0', limit: 50 });
    expect(audit.filter((e) => e.type === 'approved').map((e) => e.actor.conjurLogin)).toEqual(['carol', 'bob']);
    expect(audit.filter((e) => e.type === 'denied').map((e) => `${e.actor.conjurLogin}:${e.data.code}`)).toEqual(
      expect.arrayContaining(['mallory:NOT_AUTHORIZED', 'alice:NOT_AUTHORIZED', 'bob:CONFLICT', 'dave:CONFLICT']),
    );
    expect(audit.find((e) => e.type === 'published')?.data.approvers).toEqual(['bob', 'carol']);
  });

  it('voids the approvals when the version is re-staged with different files', async () => {
    await stage('1.1.0', 'first build');
    const { request } = await approvals.request('gated', '1.1.0', as('alice'));
    await approvals.approve(request.id, as('bob'));
    await stage('1.1.0', 'second build, other digests');
    expect(approvals.get(request.id)).toMatchObject({ status: 'void' });
    expect(closed.map((r) => r.id)).toContain(request.id);
    await expect(approvals.approve(request.id, as('carol'))).rejects.toMatchObject({
      code: ErrorCode.Conflict,
      details: { reason: 'void' },
    });
    expect(existsSync(path.join(mirror, 'gated/1.1.0'))).toBe(false);
    // A new request binds to the new build and starts from zero approvals.
    const again = await approvals.request('gated', '1.1.0', as('alice'));
    expect(again.created).toBe(true);
    expect(again.request.approvals).toEqual([]);
    expect(
      app.audit
        .list({ project: 'gated', version: '1.1.0', limit: 20 })
        .some((e) => e.type === 'approval-void' && e.data.requestId === request.id),
    ).toBe(true);
  });

  it('refuses approvals after the request expired', async () => {
    await stage('1.2.0', 'expiring');
    const { request } = await approvals.request('gated', '1.2.0', as('alice'));
    await approvals.approve(request.id, as('bob'));
    clock += 601_000;
    await expect(approvals.approve(request.id, as('carol'))).rejects.toMatchObject({
      code: ErrorCode.Conflict,
      details: { reason: 'expired' },
    });
    expect(approvals.get(request.id)?.status).toBe('expired');
    expect(existsSync(path.join(mirror, 'gated/1.2.0'))).toBe(false);
  });

  it('closeStale closes an expired request nobody touched: audited once, no longer listed as waiting', async () => {
    await stage('1.4.0', 'nobody looks');
    const { request } = await approvals.request('gated', '1.4.0', as('alice'));
    // Earlier tests' requests may have expired meanwhile; this one has not.
    expect(approvals.closeStale().map((r) => r.id)).not.toContain(request.id);
    expect(approvals.open('gated').map((r) => r.id)).toContain(request.id);
    clock += 601_000;
    // Expired but not yet swept: nobody can approve it, so it is not waiting for anything.
    expect(approvals.open('gated').map((r) => r.id)).not.toContain(request.id);
    const swept = approvals.closeStale();
    expect(swept.map((r) => [r.id, r.status])).toEqual([[request.id, 'expired']]);
    expect(approvals.get(request.id)).toMatchObject({ status: 'expired', closedReason: `the request expired at ${request.expiresAt}` });
    expect(closed.map((r) => r.id)).toContain(request.id);
    expect(approvals.closeStale()).toEqual([]);
    const voids = app.audit.list({ project: 'gated', version: '1.4.0', limit: 20 }).filter((e) => e.type === 'approval-void');
    expect(voids).toHaveLength(1);
    expect(voids[0]).toMatchObject({
      actor: { via: 'api', conjurLogin: 'release-bot' },
      data: { requestId: request.id, status: 'expired' },
    });
  });

  it('closeStale voids a request whose build another process re-staged (no event reached this one)', async () => {
    await stage('1.5.0', 'first');
    const { request } = await approvals.request('gated', '1.5.0', as('alice'));
    // A second App on the same database: what `release-bot stage` in another process is.
    const other = createApp({ env, logDestination: new Writable({ write: (_c, _e, cb) => cb() }) });
    try {
      writeFileSync(path.join(staging, 'gated', '1.5.0', 'gated-1.5.0.tgz'), 'second, from the CLI');
      await other.core.stage({
        project: 'gated',
        version: '1.5.0',
        build: { number: 8 },
        reportedBy: 'cli:root',
        actor: { via: 'cli:root' },
      });
    } finally {
      other.close();
    }
    expect(approvals.get(request.id)?.status).toBe('open');
    expect(approvals.closeStale().map((r) => [r.id, r.status])).toEqual([[request.id, 'void']]);
    expect(approvals.get(request.id)?.closedReason).toContain('was re-staged (build 8)');
  });

  it('fails closed when Conjur is down: no approval is recorded', async () => {
    await stage('1.3.0', 'conjur down');
    const { request } = await approvals.request('gated', '1.3.0', as('alice'));
    conjur.setDown(true);
    try {
      await expect(approvals.approve(request.id, as('bob'))).rejects.toMatchObject({ code: ErrorCode.ConjurUnavailable });
    } finally {
      conjur.setDown(false);
    }
    expect(approvals.get(request.id)?.approvals).toEqual([]);
  });

  it('freezes: only the authorized group locks and unlocks; a freeze stops requests and releases, with who, when and why', async () => {
    await stage('2.0.0', 'frozen');
    await expect(freezes.lock('gated', 'no', as('carol'))).rejects.toMatchObject({
      code: ErrorCode.NotAuthorized,
      details: { group: 'release/gated' },
    });
    await expect(freezes.lock('gated', '  \u0000 ', as('alice'))).rejects.toMatchObject({ code: ErrorCode.BadInput });
    const f = await freezes.lock('gated', 'quarter-end\nfreeze', as('alice'));
    expect(f).toMatchObject({ project: 'gated', by: 'alice', reason: 'quarter-end freeze' });
    await expect(freezes.lock('gated', 'again', as('bob'))).rejects.toMatchObject({ code: ErrorCode.Conflict, details: { by: 'alice' } });
    await expect(approvals.request('gated', '2.0.0', as('bob'))).rejects.toMatchObject({
      code: ErrorCode.Frozen,
      details: { by: 'alice', reason: 'quarter-end freeze' },
    });
    await expect(app.core.release('gated', '2.0.0', as('bob'), { dryRun: true })).rejects.toMatchObject({
      code: ErrorCode.Frozen,
      details: { by: 'alice', at: f.at },
    });
    await expect(freezes.unlock('gated', as('mallory'))).rejects.toMatchObject({ code: ErrorCode.NotAuthorized });
    expect((await freezes.unlock('gated', as('bob'))).by).toBe('alice');
    await expect(freezes.unlock('gated', as('bob'))).rejects.toMatchObject({ code: ErrorCode.NotFound });
    await expect(freezes.lock('nope', 'x', as('alice'))).rejects.toMatchObject({ code: ErrorCode.UnknownProject });
    const types = app.audit.list({ project: 'gated', limit: 30 }).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['frozen', 'unfrozen']));
  });
});
