import { AUDIT_TYPES, auditCode, isAuditType, type AuditDataByType, type AuditType } from '../../src/audit/entries.js';
import { AuditLog } from '../../src/audit/log.js';
import { chainFromDb, verifyChain } from '../../src/audit/verify.js';
import { Redactor } from '../../src/redact.js';
import { openDatabase } from '../../src/store/db.js';
import { makeTmpDir } from '../support/tmp.js';

const build = { job: 'conjur-cli/main', number: 42, url: 'https://jenkins.example/job/conjur-cli/42/', commit: 'a'.repeat(40) };
const artifact = { kind: 'files' as const, files: [{ path: 'conjur-cli-4.2.0.gem', sha256: 'b'.repeat(64), size: 1024 }] };
const docker = { kind: 'docker' as const, ref: 'registry.example/conjur-cli:4.2.0', digest: `sha256:${'c'.repeat(64)}` };
const releaseEnd = {
  build,
  artifact,
  publishedArtifact: artifact,
  labelWritten: true,
  stagedAt: '2030-01-01T09:00:00.000Z',
  stagedBy: 'jenkins:conjur-cli/main',
  approvers: ['bob'],
  conjurIdentity: 'host/release-bot',
  policySha256: 'd'.repeat(64),
  credentialIds: ['ci/rubygems/api-key'],
  destinations: [
    {
      name: 'rubygems',
      type: 'rubygems',
      status: 'published' as const,
      attempts: 1,
      durationMs: 1200,
      readBackDigest: `sha256:${'b'.repeat(64)}`,
      location: 'https://rubygems.org/gems/conjur-cli/versions/4.2.0',
      attestations: [
        { subject: 'conjur-cli-4.2.0.gem', digest: 'e'.repeat(64), keyId: 'f'.repeat(64), location: 'https://x/y.intoto.jsonl' },
      ],
    },
  ],
  startedAt: '2030-01-01T10:00:00.000Z',
  durationMs: 1500,
};
const yankEnd = {
  yankId: 'ynk_1',
  reason: 'broken build',
  approvers: ['bob'],
  conjurIdentity: 'host/release-bot',
  credentialIds: ['ci/rubygems/api-key'],
  destinations: [{ name: 'rubygems', type: 'rubygems', status: 'yanked' as const, detail: 'yanked', actions: ['gem yank'] }],
  frozen: { reason: 'yanked 4.2.0: broken build' },
  latest: '4.1.0',
  startedAt: '2030-01-01T11:00:00.000Z',
};

/** One entry of every kind, as the writers (src/release/, src/config/reload.ts, the handlers' refusals) fill it. */
const DATA: { [K in AuditType]: AuditDataByType[K] } = {
  staged: {
    build,
    artifact,
    reportedBy: 'jenkins:conjur-cli/main',
    replaces: { stagedAt: '2030-01-01T08:00:00.000Z', build, artifact: docker },
  },
  'stage-refused': { code: 'DIGEST_MISMATCH', reason: 'conjur-cli-4.2.0.gem does not match the report', build, reportedBy: 'ssh:alice' },
  requested: { authorizedBy: 'release-managers', approvers: ['bob'], dryRun: false, build, artifact, policySha256: 'd'.repeat(64) },
  'approval-requested': {
    requestId: 'apr_1',
    needed: 1,
    approverGroup: 'approvers',
    expiresAt: '2030-01-02T10:00:00.000Z',
    resume: false,
    stagedBuildId: 7,
    fingerprint: 'g'.repeat(64),
    build,
    artifact,
  },
  approved: { requestId: 'apr_1', approvals: 1, needed: 1, requester: 'alice', stagedBuildId: 7, fingerprint: 'g'.repeat(64) },
  'approval-void': {
    requestId: 'apr_1',
    status: 'void',
    reason: 'another build was staged',
    approvals: ['bob'],
    stagedBuildId: 7,
    fingerprint: 'g'.repeat(64),
  },
  denied: { action: 'lock', code: 'NOT_AUTHORIZED', reason: 'mallory is not a member of release-managers' },
  published: releaseEnd,
  failed: { ...releaseEnd, error: { code: 'DESTINATION_FAILED', message: 'rubygems answered 500' } },
  interrupted: { previousState: 'publishing', destinations: [{ name: 'rubygems', status: 'running' }] },
  'dry-run': { ...releaseEnd, destinations: [{ name: 'rubygems', type: 'rubygems', status: 'planned', plan: ['gem push'] }] },
  frozen: { reason: 'yanked 4.2.0', yankId: 'ynk_1', version: '4.2.0' },
  unfrozen: { lockedBy: 'alice', lockedAt: '2030-01-01T12:00:00.000Z', reason: 'code freeze' },
  'config-changed': {
    file: '/etc/release-bot/releases.yml',
    sha256: 'h'.repeat(64),
    previousSha256: 'd'.repeat(64),
    trigger: 'SIGHUP',
    changes: ['x'],
  },
  'config-rejected': {
    file: '/etc/release-bot/releases.yml',
    sha256: null,
    runningSha256: 'd'.repeat(64),
    trigger: 'poll',
    problems: ['y'],
  },
  'yank-requested': {
    yankId: 'ynk_1',
    reason: 'broken build',
    approvers: [],
    yankGroup: 'release-managers',
    dryRun: false,
    noLock: false,
    destinations: ['rubygems'],
    policySha256: 'd'.repeat(64),
  },
  yanked: yankEnd,
  'yank-failed': { ...yankEnd, error: { code: 'DESTINATION_FAILED', message: 'rubygems answered 500' } },
  'yank-dry-run': yankEnd,
  'yank-interrupted': { yankId: 'ynk_1', reason: 'broken build', destinations: [{ name: 'rubygems', status: 'yanking' }] },
};

describe('typed audit entries', () => {
  it('lists every kind once, and every kind has its data type', () => {
    expect([...AUDIT_TYPES].sort()).toEqual(Object.keys(DATA).sort());
    expect(new Set(AUDIT_TYPES).size).toBe(AUDIT_TYPES.length);
  });

  it('an entry of every kind reads back as written, by list, get and entriesAfter, in an intact chain', () => {
    const tmp = makeTmpDir();
    const db = openDatabase(tmp.dir);
    try {
      const log = new AuditLog(db, new Redactor());
      const written = AUDIT_TYPES.map((type) =>
        log.append({ type, project: 'conjur-cli', version: '4.2.0', actor: { via: 'cli:alice', conjurLogin: 'alice' }, data: DATA[type] }),
      );
      const after = log.entriesAfter(0, 100);
      expect(after.map((e) => [e.type, e.data])).toEqual(AUDIT_TYPES.map((type) => [type, DATA[type]]));
      expect(after).toEqual(written);
      expect(log.list({ project: 'conjur-cli', limit: 100 }).reverse()).toEqual(written);
      for (const e of written) expect(log.get(e.id)).toEqual(e);
      expect(verifyChain(chainFromDb(db))).toMatchObject({ ok: true, count: AUDIT_TYPES.length });
    } finally {
      db.close();
      tmp.cleanup();
    }
  });

  it('narrows on the kind: a reader gets the typed data of the kinds it asks for, and the code of a refusal', () => {
    const tmp = makeTmpDir();
    const db = openDatabase(tmp.dir);
    try {
      const log = new AuditLog(db, new Redactor());
      for (const type of AUDIT_TYPES) log.append({ type, actor: { via: 'cli:alice' }, data: DATA[type] });
      const entries = log.entriesAfter(0, 100);
      const ends = entries.filter(isAuditType('published', 'failed'));
      expect(ends.map((e) => [e.type, e.data.destinations?.[0]?.readBackDigest])).toEqual([
        ['published', `sha256:${'b'.repeat(64)}`],
        ['failed', `sha256:${'b'.repeat(64)}`],
      ]);
      expect(entries.filter((e) => auditCode(e) !== undefined).map((e) => [e.type, auditCode(e)])).toEqual([
        ['stage-refused', 'DIGEST_MISMATCH'],
        ['denied', 'NOT_AUTHORIZED'],
      ]);
    } finally {
      db.close();
      tmp.cleanup();
    }
  });

  it('a writer cannot append data its kind does not declare, nor leave out what it requires (checked by tsc)', () => {
    const writes = (log: AuditLog) => [
      // @ts-expect-error a staging entry says who reported the build
      log.append({ type: 'staged', actor: { via: 'jenkins' }, data: { build } }),
      // @ts-expect-error a freeze has no `code`: a typo of a field or a field of another kind is refused
      log.append({ type: 'frozen', actor: { via: 'cli' }, data: { reason: 'r', code: 'X' } }),
      // @ts-expect-error a denial's code is a string
      log.append({ type: 'denied', actor: { via: 'cli' }, data: { code: 403 } }),
    ];
    expect(typeof writes).toBe('function');
  });
});
